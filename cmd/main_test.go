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
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func parse(t *testing.T, env map[string]string, args ...string) *managerFlags {
	t.Helper()
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := bindFlags(fs, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return f
}

func TestFlagDefaults(t *testing.T) {
	f := parse(t, nil)
	want := Options{
		CloudflareAPIURL:        "https://api.cloudflare.com/client/v4",
		ClusterName:             "",
		APIRequestsPer5m:        1000,
		OperatorNamespace:       "cloudflare-token-operator",
		DriftInterval:           10 * time.Minute,
		OrphanGrace:             30 * time.Minute,
		MaxConcurrentReconciles: 4,
	}
	if f.operator != want {
		t.Errorf("defaults = %+v, want %+v", f.operator, want)
	}
	if f.metricsAddr != "0" || f.probeAddr != ":8081" || f.enableLeaderElection || !f.secureMetrics || f.enableHTTP2 {
		t.Errorf("manager defaults: metrics %q probe %q leader %v secure %v http2 %v",
			f.metricsAddr, f.probeAddr, f.enableLeaderElection, f.secureMetrics, f.enableHTTP2)
	}
	if err := f.operator.validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	// client-go's leader-election defaults; qps 0 leaves controller-runtime's (no client-side limit).
	wantKube := kubeAPIOptions{leaseDuration: 15 * time.Second, renewDeadline: 10 * time.Second, retryPeriod: 2 * time.Second}
	if f.kubeAPI != wantKube {
		t.Errorf("kube API defaults = %+v, want %+v", f.kubeAPI, wantKube)
	}
	if err := f.kubeAPI.validate(); err != nil {
		t.Errorf("kube API defaults do not validate: %v", err)
	}
}

func TestFlagsSet(t *testing.T) {
	f := parse(t, map[string]string{"POD_NAMESPACE": "ops"},
		"--cloudflare-api-url=http://127.0.0.1:8787/client/v4", "--cluster-name=prod-eu",
		"--api-requests-per-5m=50", "--metrics-bind-address=:8443", "--leader-elect")
	want := Options{
		CloudflareAPIURL:        "http://127.0.0.1:8787/client/v4",
		ClusterName:             "prod-eu",
		APIRequestsPer5m:        50,
		OperatorNamespace:       "ops",
		DriftInterval:           10 * time.Minute,
		OrphanGrace:             30 * time.Minute,
		MaxConcurrentReconciles: 4,
	}
	if f.operator != want {
		t.Errorf("options = %+v, want %+v", f.operator, want)
	}
	if f.metricsAddr != ":8443" || !f.enableLeaderElection {
		t.Errorf("metrics %q leader %v", f.metricsAddr, f.enableLeaderElection)
	}
	if f := parse(t, map[string]string{"POD_NAMESPACE": "ops"}, "--operator-namespace=other"); f.operator.OperatorNamespace != "other" {
		t.Errorf("--operator-namespace over POD_NAMESPACE: got %q", f.operator.OperatorNamespace)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"zero budget", []string{"--api-requests-per-5m=0"}, "--api-requests-per-5m"},
		{"negative budget", []string{"--api-requests-per-5m=-3"}, "--api-requests-per-5m"},
		{"empty url", []string{"--cloudflare-api-url="}, "--cloudflare-api-url"},
		{"empty namespace", []string{"--operator-namespace="}, "--operator-namespace"},
		{"drift interval too short", []string{"--drift-interval=30s"}, "--drift-interval must be at least 1m"},
		{"zero orphan grace", []string{"--orphan-grace=0s"}, "--orphan-grace must be at least 1m"},
		{"no reconciles", []string{"--max-concurrent-reconciles=0"}, "--max-concurrent-reconciles"},
		{"negative qps", []string{"--kube-api-qps=-1"}, "--kube-api-qps"},
		{"negative burst", []string{"--kube-api-burst=-1"}, "--kube-api-burst"},
		{"renew within retry", []string{"--leader-election-renew-deadline=2s"}, "--leader-election-renew-deadline (2s)"},
		{"lease within renew", []string{"--leader-election-lease-duration=10s"}, "--leader-election-lease-duration (10s)"},
		{"no retry", []string{"--leader-election-retry-period=0s"}, "--leader-election-retry-period must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parse(t, nil, tc.args...)
			err := errors.Join(f.operator.validate(), f.kubeAPI.validate())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("validate() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestResolveClusterName(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(&corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: "6f1c2d9e-0000-4000-8000-000000000001"},
	}).Build()
	got, err := resolveClusterName(context.Background(), c)
	if err != nil || got != "6f1c2d9e-0000-4000-8000-000000000001" {
		t.Errorf("resolveClusterName = %q, %v", got, err)
	}

	empty := fake.NewClientBuilder().WithScheme(scheme).Build()
	if _, err := resolveClusterName(context.Background(), empty); err == nil || !strings.Contains(err.Error(), "kube-system") {
		t.Errorf("without kube-system: err = %v, want one naming kube-system", err)
	}
}

// The issue-12 flags and the Kubernetes client and leader-election flags reach what they configure.
func TestOperatorFlagsReachTheControllers(t *testing.T) {
	f := parse(t, nil, "--drift-interval=3m", "--orphan-grace=45m", "--max-concurrent-reconciles=8",
		"--kube-api-qps=50", "--kube-api-burst=100", "--leader-election-lease-duration=60s",
		"--leader-election-renew-deadline=40s", "--leader-election-retry-period=5s")
	if err := errors.Join(f.operator.validate(), f.kubeAPI.validate()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	cfg := controllerConfig(f.operator, nil)
	if cfg.DriftInterval != 3*time.Minute || cfg.OrphanGrace != 45*time.Minute || cfg.MaxConcurrentReconciles != 8 {
		t.Errorf("controller.Config drift %s grace %s reconciles %d, want 3m 45m 8",
			cfg.DriftInterval, cfg.OrphanGrace, cfg.MaxConcurrentReconciles)
	}
	if cfg.CloudflareAPIURL != f.operator.CloudflareAPIURL || cfg.OperatorNamespace != f.operator.OperatorNamespace ||
		cfg.APIRequestsPer5m != f.operator.APIRequestsPer5m {
		t.Errorf("controller.Config %+v lost the options %+v", cfg, f.operator)
	}
	want := kubeAPIOptions{qps: 50, burst: 100, leaseDuration: time.Minute, renewDeadline: 40 * time.Second,
		retryPeriod: 5 * time.Second}
	if f.kubeAPI != want {
		t.Errorf("kube API options %+v, want %+v", f.kubeAPI, want)
	}
}
