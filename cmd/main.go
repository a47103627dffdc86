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
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	cloudflarev1alpha1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller"
	"github.com/tokenoperator/cloudflare-token-operator/internal/metrics"
	// +kubebuilder:scaffold:imports
)

const (
	// defaultCloudflareAPIURL is Cloudflare's v4 API.
	defaultCloudflareAPIURL = "https://api.cloudflare.com/client/v4"
	// defaultAPIRequestsPer5m stays below Cloudflare's global limit of 1200 requests per 5 minutes.
	defaultAPIRequestsPer5m = 1000
	// fallbackOperatorNamespace is used when neither --operator-namespace nor POD_NAMESPACE is set.
	fallbackOperatorNamespace = "cloudflare-token-operator"
	// podNamespaceEnv is set from the Pod's metadata.namespace by config/manager/manager.yaml.
	podNamespaceEnv = "POD_NAMESPACE"
	// clusterIDNamespace is the namespace whose UID names this cluster when --cluster-name is unset.
	clusterIDNamespace = "kube-system"
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(cloudflarev1alpha1.AddToScheme(scheme))
	// +kubebuilder:scaffold:scheme
}

// Options are the operator's own settings (beside the manager's), handed to the reconcilers by
// setupControllers.
type Options struct {
	// CloudflareAPIURL is the base URL of Cloudflare's v4 API (a fake one in tests and the demo).
	CloudflareAPIURL string
	// ClusterName goes into the name of every token the operator mints, so that tokens say which
	// cluster made them. Defaults to the UID of namespace kube-system.
	ClusterName string
	// APIRequestsPer5m is the client-side budget of Cloudflare API requests per 5 minutes.
	APIRequestsPer5m int
	// OperatorNamespace is where the credential Secrets of ClusterTokenIssuers live.
	OperatorNamespace string
}

// managerFlags are the command line: kubebuilder's usual manager flags plus the operator's Options.
type managerFlags struct {
	metricsAddr          string
	metricsCertPath      string
	metricsCertName      string
	metricsCertKey       string
	webhookCertPath      string
	webhookCertName      string
	webhookCertKey       string
	probeAddr            string
	enableLeaderElection bool
	leaderElectionNS     string
	secureMetrics        bool
	enableHTTP2          bool
	operator             Options
}

// bindFlags registers every flag of the manager on fs.
func bindFlags(fs *flag.FlagSet, getenv func(string) string) *managerFlags {
	f := &managerFlags{}
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	fs.BoolVar(&f.enableLeaderElection, "leader-elect", false,
		"Enable leader election for controller manager. "+
			"Enabling this will ensure there is only one active controller manager.")
	fs.StringVar(&f.leaderElectionNS, "leader-election-namespace", "",
		"Namespace of the leader-election Lease. Empty: the namespace the manager runs in (needed out of cluster).")
	fs.BoolVar(&f.secureMetrics, "metrics-secure", true,
		"If set, the metrics endpoint is served securely via HTTPS. Use --metrics-secure=false to use HTTP instead.")
	fs.StringVar(&f.webhookCertPath, "webhook-cert-path", "", "The directory that contains the webhook certificate.")
	fs.StringVar(&f.webhookCertName, "webhook-cert-name", "tls.crt", "The name of the webhook certificate file.")
	fs.StringVar(&f.webhookCertKey, "webhook-cert-key", "tls.key", "The name of the webhook key file.")
	fs.StringVar(&f.metricsCertPath, "metrics-cert-path", "",
		"The directory that contains the metrics server certificate.")
	fs.StringVar(&f.metricsCertName, "metrics-cert-name", "tls.crt", "The name of the metrics server certificate file.")
	fs.StringVar(&f.metricsCertKey, "metrics-cert-key", "tls.key", "The name of the metrics server key file.")
	fs.BoolVar(&f.enableHTTP2, "enable-http2", false,
		"If set, HTTP/2 will be enabled for the metrics and webhook servers")

	fs.StringVar(&f.operator.CloudflareAPIURL, "cloudflare-api-url", defaultCloudflareAPIURL,
		"The base URL of Cloudflare's v4 API.")
	fs.StringVar(&f.operator.ClusterName, "cluster-name", "",
		"The name of this cluster in the names of minted tokens (default: the UID of namespace kube-system).")
	fs.IntVar(&f.operator.APIRequestsPer5m, "api-requests-per-5m", defaultAPIRequestsPer5m,
		"Client-side budget of Cloudflare API requests per 5 minutes (Cloudflare allows 1200).")
	fs.StringVar(&f.operator.OperatorNamespace, "operator-namespace", defaultOperatorNamespace(getenv),
		"The namespace where the credential Secrets of ClusterTokenIssuers live "+
			"(default: $"+podNamespaceEnv+", else "+fallbackOperatorNamespace+").")
	return f
}

// defaultOperatorNamespace is the Pod's own namespace when it runs in a cluster.
func defaultOperatorNamespace(getenv func(string) string) string {
	if ns := getenv(podNamespaceEnv); ns != "" {
		return ns
	}
	return fallbackOperatorNamespace
}

// validate checks the operator's options before anything starts.
func (o *Options) validate() error {
	var errs []error
	if o.CloudflareAPIURL == "" {
		errs = append(errs, errors.New("--cloudflare-api-url must not be empty"))
	}
	if o.APIRequestsPer5m <= 0 {
		errs = append(errs, fmt.Errorf("--api-requests-per-5m must be positive, got %d", o.APIRequestsPer5m))
	}
	if o.OperatorNamespace == "" {
		errs = append(errs, errors.New("--operator-namespace must not be empty"))
	}
	return errors.Join(errs...)
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

// setupControllers registers the reconcilers (and webhooks) with the manager.
func setupControllers(mgr manager.Manager, opts Options) error {
	rec, err := metrics.Default()
	if err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	return controller.Setup(mgr, controller.Config{
		CloudflareAPIURL:  opts.CloudflareAPIURL,
		ClusterName:       opts.ClusterName,
		OperatorNamespace: opts.OperatorNamespace,
		APIRequestsPer5m:  opts.APIRequestsPer5m,
		Observer:          rec,
		Metrics:           rec,
	})
	// +kubebuilder:scaffold:builder
}

func main() {
	f := bindFlags(flag.CommandLine, os.Getenv)
	zapOpts := zap.Options{
		Development: true,
	}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(f); err != nil {
		setupLog.Error(err, "manager failed")
		os.Exit(1)
	}
}

// run builds the manager from the flags and runs it until a termination signal.
func run(f *managerFlags) error {
	if err := f.operator.validate(); err != nil {
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

	// Initial webhook TLS options
	webhookTLSOpts := tlsOpts
	var webhookCertWatcher *certwatcher.CertWatcher
	if len(f.webhookCertPath) > 0 {
		setupLog.Info("Initializing webhook certificate watcher using provided certificates",
			"webhook-cert-path", f.webhookCertPath, "webhook-cert-name", f.webhookCertName,
			"webhook-cert-key", f.webhookCertKey)
		var err error
		webhookCertWatcher, err = certwatcher.New(
			filepath.Join(f.webhookCertPath, f.webhookCertName),
			filepath.Join(f.webhookCertPath, f.webhookCertKey),
		)
		if err != nil {
			return fmt.Errorf("initializing webhook certificate watcher: %w", err)
		}
		webhookTLSOpts = append(webhookTLSOpts, func(config *tls.Config) {
			config.GetCertificate = webhookCertWatcher.GetCertificate
		})
	}
	webhookServer := webhook.NewServer(webhook.Options{TLSOpts: webhookTLSOpts})

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
		// FilterProvider is used to protect the metrics endpoint with authn/authz.
		// These configurations ensure that only authorized users and service accounts
		// can access the metrics endpoint. The RBAC are configured in 'config/rbac/kustomization.yaml'.
		metricsServerOptions.FilterProvider = filters.WithAuthenticationAndAuthorization
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
		"operator-namespace", f.operator.OperatorNamespace)

	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   controller.CacheOptions(),
		Metrics:                 metricsServerOptions,
		WebhookServer:           webhookServer,
		HealthProbeBindAddress:  f.probeAddr,
		LeaderElection:          f.enableLeaderElection,
		LeaderElectionID:        "cloudflare-token-operator.tokenoperator.dev",
		LeaderElectionNamespace: f.leaderElectionNS,
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
	if webhookCertWatcher != nil {
		setupLog.Info("Adding webhook certificate watcher to manager")
		if err := mgr.Add(webhookCertWatcher); err != nil {
			return fmt.Errorf("adding webhook certificate watcher to manager: %w", err)
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
