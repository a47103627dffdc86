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

// Command manager runs the cloudflare-token-operator controller manager.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"time"

	// Import all Kubernetes client auth plugins (e.g. Azure, GCP, OIDC, etc.)
	// to ensure that exec-entrypoint and run can make use of them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cloudflarev1alpha1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller"
	"github.com/tokenoperator/cloudflare-token-operator/internal/metrics"
	"github.com/tokenoperator/cloudflare-token-operator/internal/metricsauth"
	// +kubebuilder:scaffold:imports
)

// clusterIDNamespace is the namespace whose UID names this cluster when --cluster-name is unset.
const clusterIDNamespace = "kube-system"

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(cloudflarev1alpha1.AddToScheme(scheme))
	// +kubebuilder:scaffold:scheme
}

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get

// resolveClusterName returns the UID of namespace kube-system, read with a client that does not
// cache (the manager's cache has not started yet, and one read needs no informer).
func resolveClusterName(ctx context.Context, c client.Reader) (string, error) {
	var ns corev1.Namespace
	if err := c.Get(ctx, client.ObjectKey{Name: clusterIDNamespace}, &ns); err != nil {
		return "", fmt.Errorf("reading namespace %s for the default --cluster-name: %w", clusterIDNamespace, err)
	}
	if ns.UID == "" {
		return "", fmt.Errorf("namespace %s has no UID", clusterIDNamespace)
	}
	return string(ns.UID), nil
}

// setupControllers registers the reconcilers and the metrics with the manager.
func setupControllers(mgr manager.Manager, opts Options) error {
	rec, err := metrics.Default()
	if err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	// The condition gauges read the manager's cache at scrape time.
	if err := metrics.RegisterState(ctrlmetrics.Registry, mgr.GetCache(), versionString()); err != nil {
		return fmt.Errorf("registering state metrics: %w", err)
	}
	return controller.Setup(mgr, controllerConfig(opts, rec))
	// +kubebuilder:scaffold:builder
}

// controllerConfig hands the operator's options (and the metrics recorder) to the reconcilers.
func controllerConfig(opts Options, rec *metrics.Recorder) controller.Config {
	return controller.Config{
		CloudflareAPIURL:        opts.CloudflareAPIURL,
		ClusterName:             opts.ClusterName,
		OperatorNamespace:       opts.OperatorNamespace,
		APIRequestsPer5m:        opts.APIRequestsPer5m,
		DriftInterval:           opts.DriftInterval,
		OrphanGrace:             opts.OrphanGrace,
		MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
		Observer:                rec,
		Metrics:                 rec,
	}
}

func main() {
	f := bindFlags(flag.CommandLine, os.Getenv)
	zapOpts := bindLogFlags(flag.CommandLine)
	flag.Parse()

	if f.printVersion {
		fmt.Println("cloudflare-token-operator", versionString())
		return
	}
	ctrl.SetLogger(newLogger(zapOpts, os.Stderr))
	setupLog.Info("cloudflare-token-operator", "version", versionString(), "go", goruntime.Version())

	if err := run(f); err != nil {
		setupLog.Error(err, "manager failed")
		os.Exit(1)
	}
}

// run builds the manager from the flags and runs it until a termination signal.
func run(f *managerFlags) error {
	if err := errors.Join(f.operator.validate(), f.kubeAPI.validate()); err != nil {
		return err
	}

	// if the enable-http2 flag is false (the default), http/2 should be disabled
	// due to its vulnerabilities. More specifically, disabling http/2 will
	// prevent from being vulnerable to the HTTP/2 Stream Cancellation and
	// Rapid Reset CVEs. For more information see:
	// - https://github.com/advisories/GHSA-qppj-fm5r-hxr3
	// - https://github.com/advisories/GHSA-4374-p667-p6c8
	var tlsOpts []func(*tls.Config)
	if !f.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) {
			setupLog.Info("disabling http/2")
			c.NextProtos = []string{"http/1.1"}
		})
	}

	// Metrics endpoint is enabled in 'config/default/kustomization.yaml'. The Metrics options configure the server.
	// More info:
	// - https://pkg.go.dev/sigs.k8s.io/controller-runtime/pkg/metrics/server
	// - https://book.kubebuilder.io/reference/metrics.html
	metricsServerOptions := metricsserver.Options{
		BindAddress:   f.metricsAddr,
		SecureServing: f.secureMetrics,
		TLSOpts:       tlsOpts,
	}
	if f.secureMetrics {
		// Only callers whose token the API server authenticates and whose RBAC allows "get" on the path
		// (the metrics-reader ClusterRole) are answered; config/rbac grants the reviews this needs.
		metricsServerOptions.FilterProvider = metricsauth.FilterProvider
	}

	// Without --metrics-cert-path, controller-runtime generates a self-signed certificate for the
	// metrics server: fine for development, not for production.
	var metricsCertWatcher *certwatcher.CertWatcher
	if len(f.metricsCertPath) > 0 {
		setupLog.Info("Initializing metrics certificate watcher using provided certificates",
			"metrics-cert-path", f.metricsCertPath, "metrics-cert-name", f.metricsCertName,
			"metrics-cert-key", f.metricsCertKey)
		var err error
		metricsCertWatcher, err = certwatcher.New(
			filepath.Join(f.metricsCertPath, f.metricsCertName),
			filepath.Join(f.metricsCertPath, f.metricsCertKey),
		)
		if err != nil {
			return fmt.Errorf("initializing metrics certificate watcher: %w", err)
		}
		metricsServerOptions.TLSOpts = append(metricsServerOptions.TLSOpts, func(config *tls.Config) {
			config.GetCertificate = metricsCertWatcher.GetCertificate
		})
	}

	restConfig := ctrl.GetConfigOrDie()
	if f.kubeAPI.qps > 0 {
		restConfig.QPS = float32(f.kubeAPI.qps)
		restConfig.Burst = f.kubeAPI.burst
	}

	if f.operator.ClusterName == "" {
		name, err := lookupClusterName(restConfig)
		if err != nil {
			return err
		}
		f.operator.ClusterName = name
	}
	setupLog.Info("operator options",
		"cloudflare-api-url", f.operator.CloudflareAPIURL,
		"cluster-name", f.operator.ClusterName,
		"api-requests-per-5m", f.operator.APIRequestsPer5m,
		"operator-namespace", f.operator.OperatorNamespace,
		"drift-interval", f.operator.DriftInterval,
		"orphan-grace", f.operator.OrphanGrace,
		"max-concurrent-reconciles", f.operator.MaxConcurrentReconciles)

	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   controller.CacheOptions(),
		Metrics:                 metricsServerOptions,
		HealthProbeBindAddress:  f.probeAddr,
		LeaderElection:          f.enableLeaderElection,
		LeaderElectionID:        "cloudflare-token-operator.tokenoperator.dev",
		LeaderElectionNamespace: f.leaderElectionNS,
		LeaseDuration:           &f.kubeAPI.leaseDuration,
		RenewDeadline:           &f.kubeAPI.renewDeadline,
		RetryPeriod:             &f.kubeAPI.retryPeriod,
		// LeaderElectionReleaseOnCancel defines if the leader should step down voluntarily
		// when the Manager ends. This requires the binary to immediately end when the
		// Manager is stopped: main exits right after Start returns, so it is safe here
		// and speeds up a voluntary leader transition.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}

	if err := setupControllers(mgr, f.operator); err != nil {
		return fmt.Errorf("setting up controllers: %w", err)
	}

	if metricsCertWatcher != nil {
		setupLog.Info("Adding metrics certificate watcher to manager")
		if err := mgr.Add(metricsCertWatcher); err != nil {
			return fmt.Errorf("adding metrics certificate watcher to manager: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("setting up health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("setting up ready check: %w", err)
	}

	setupLog.Info("starting manager")
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("running manager: %w", err)
	}
	return nil
}

// lookupClusterName reads the default --cluster-name with an uncached client.
func lookupClusterName(cfg *rest.Config) (string, error) {
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return "", fmt.Errorf("creating a client to look up the cluster name: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return resolveClusterName(ctx, c)
}
