/*
Copyright 2026 The cloudflare-token-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/go-logr/logr"
)

// logWith parses args as the manager does and returns its logger and what it wrote.
func logWith(t *testing.T, args ...string) (logr.Logger, *bytes.Buffer) {
	t.Helper()
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bindFlags(fs, func(string) string { return "" })
	opts := bindLogFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	var buf bytes.Buffer
	return newLogger(opts, &buf), &buf
}

// Without flags the manager logs JSON at info level, and a malformed log call (zapr's DPanic path) is
// logged, not a panic.
func TestLogDefaultsAreProduction(t *testing.T) {
	log, buf := logWith(t)
	log.WithName("setup").Info("cloudflare-token-operator", "version", "v1.2.3")
	log.V(1).Info("a debug line")
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("a log call with an odd number of key-value arguments panicked: %v", r)
			}
		}()
		log.Info("odd arguments", "dangling-key")
	}()

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatalf("the first log line is not JSON: %q: %v", lines[0], err)
	}
	if first["level"] != "info" || first["msg"] != "cloudflare-token-operator" || first["version"] != "v1.2.3" ||
		first["logger"] != "setup" {
		t.Errorf("first line %v: want level info, msg, logger and version", first)
	}
	if strings.Contains(buf.String(), "a debug line") {
		t.Errorf("a debug line was logged at the default level:\n%s", buf)
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("a log line is not JSON: %q", l)
		}
	}
}

// The chart's logging values: level and format.
func TestLogLevelAndFormatFlags(t *testing.T) {
	log, buf := logWith(t, "--zap-log-level=debug", "--zap-encoder=console")
	log.V(1).Info("a debug line")
	if out := buf.String(); !strings.Contains(out, "a debug line") || json.Valid([]byte(strings.TrimSpace(out))) {
		t.Errorf("--zap-log-level=debug --zap-encoder=console wrote %q: want the debug line, not JSON", out)
	}
	log, buf = logWith(t, "--zap-log-level=error")
	log.Info("an info line")
	if buf.Len() != 0 {
		t.Errorf("--zap-log-level=error logged an info line: %q", buf)
	}
}
