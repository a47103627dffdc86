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
	"flag"
	"io"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// bindLogFlags registers controller-runtime's --zap-* flags. The defaults are zap's production ones: JSON,
// info level, stack traces on errors, and DPanic (zapr's answer to a malformed log call) logs instead of
// panicking. --zap-devel switches to console output at debug level, for a developer's machine only.
func bindLogFlags(fs *flag.FlagSet) *zap.Options {
	opts := &zap.Options{Development: false}
	opts.BindFlags(fs)
	return opts
}

// newLogger builds the manager's logger from the parsed --zap-* flags, writing to w.
func newLogger(opts *zap.Options, w io.Writer) logr.Logger {
	return zap.New(zap.UseFlagOptions(opts), zap.WriteTo(w))
}
