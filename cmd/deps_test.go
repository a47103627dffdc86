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
	"os/exec"
	"strings"
	"testing"
)

// TestManagerLinksNoAPIServerLibrary keeps k8s.io/apiserver out of the binary: its packages alone kept ~16 MiB
// of the manager resident (BENCHMARKS.md), and the metrics filter (internal/metricsauth) does without them.
func TestManagerLinksNoAPIServerLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "k8s.io/apiserver/") {
			t.Errorf("the manager links %s; find what imports it: go list -deps -f '{{.ImportPath}} {{.Imports}}' ./cmd", pkg)
		}
	}
}
