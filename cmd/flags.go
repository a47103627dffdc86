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
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller"
)

const (
	// fallbackOperatorNamespace is used when neither --operator-namespace nor POD_NAMESPACE is set.
	fallbackOperatorNamespace = "cloudflare-token-operator"
	// podNamespaceEnv is set from the Pod's metadata.namespace by config/manager/manager.yaml.
	podNamespaceEnv = "POD_NAMESPACE"
)

// client-go's leader-election defaults, as controller-runtime applies them.
const (
	defaultLeaseDuration = 15 * time.Second
	defaultRenewDeadline = 10 * time.Second
	defaultRetryPeriod   = 2 * time.Second
)

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
	// DriftInterval is how often tokens are checked at Cloudflare.
	DriftInterval time.Duration
	// OrphanGrace is how old an unrecorded token of this cluster must be before the sweeper revokes it.
	OrphanGrace time.Duration
	// MaxConcurrentReconciles of the CloudflareToken controller.
	MaxConcurrentReconciles int
}

// kubeAPIOptions tune the manager's client of the Kubernetes API server and its leader election.
type kubeAPIOptions struct {
	// qps and burst of the client-side rate limiter; qps 0 keeps controller-runtime's default (no client-side
	// limit: the API server's priority and fairness decides).
	qps   float64
	burst int
	// leaseDuration, renewDeadline and retryPeriod of leader election.
	leaseDuration, renewDeadline, retryPeriod time.Duration
}

// managerFlags are the command line: kubebuilder's usual manager flags plus the operator's Options.
type managerFlags struct {
	metricsAddr          string
	metricsCertPath      string
	metricsCertName      string
	metricsCertKey       string
	probeAddr            string
	enableLeaderElection bool
	leaderElectionNS     string
	secureMetrics        bool
	enableHTTP2          bool
	printVersion         bool
	kubeAPI              kubeAPIOptions
	operator             Options
}

// bindFlags registers every flag of the manager on fs.
func bindFlags(fs *flag.FlagSet, getenv func(string) string) *managerFlags {
	f := &managerFlags{}
	fs.BoolVar(&f.printVersion, "version", false, "Print the version and exit.")
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	fs.BoolVar(&f.enableLeaderElection, "leader-elect", false,
		"Enable leader election for controller manager. "+
			"Enabling this will ensure there is only one active controller manager.")
	fs.StringVar(&f.leaderElectionNS, "leader-election-namespace", "",
		"Namespace of the leader-election Lease. Empty: the namespace the manager runs in (needed out of cluster).")
	fs.DurationVar(&f.kubeAPI.leaseDuration, "leader-election-lease-duration", defaultLeaseDuration,
		"How long a standby replica waits after the leader's last renewal before it takes the lease.")
	fs.DurationVar(&f.kubeAPI.renewDeadline, "leader-election-renew-deadline", defaultRenewDeadline,
		"How long the leader keeps trying to renew its lease before it gives up leadership (and exits).")
	fs.DurationVar(&f.kubeAPI.retryPeriod, "leader-election-retry-period", defaultRetryPeriod,
		"How often replicas try to acquire or renew the lease.")
	fs.Float64Var(&f.kubeAPI.qps, "kube-api-qps", 0,
		"Queries per second to the Kubernetes API server (client-side limit). "+
			"0: no client-side limit; the API server's priority and fairness applies.")
	fs.IntVar(&f.kubeAPI.burst, "kube-api-burst", 0,
		"Burst of queries to the Kubernetes API server above --kube-api-qps. 0: client-go's default (10).")
	fs.BoolVar(&f.secureMetrics, "metrics-secure", true,
		"If set, the metrics endpoint is served securely via HTTPS. Use --metrics-secure=false to use HTTP instead.")
	fs.StringVar(&f.metricsCertPath, "metrics-cert-path", "",
		"The directory that contains the metrics server certificate.")
	fs.StringVar(&f.metricsCertName, "metrics-cert-name", "tls.crt", "The name of the metrics server certificate file.")
	fs.StringVar(&f.metricsCertKey, "metrics-cert-key", "tls.key", "The name of the metrics server key file.")
	fs.BoolVar(&f.enableHTTP2, "enable-http2", false,
		"If set, HTTP/2 will be enabled for the metrics server.")

	fs.StringVar(&f.operator.CloudflareAPIURL, "cloudflare-api-url", cloudflare.DefaultBaseURL,
		"The base URL of Cloudflare's v4 API.")
	fs.StringVar(&f.operator.ClusterName, "cluster-name", "",
		"The name of this cluster in the names of minted tokens (default: the UID of namespace kube-system).")
	fs.IntVar(&f.operator.APIRequestsPer5m, "api-requests-per-5m", cloudflare.DefaultRequestsPer5m,
		"Client-side budget of Cloudflare API requests per 5 minutes (Cloudflare allows 1200).")
	fs.StringVar(&f.operator.OperatorNamespace, "operator-namespace", defaultOperatorNamespace(getenv),
		"The namespace where the credential Secrets of ClusterTokenIssuers live "+
			"(default: $"+podNamespaceEnv+", else "+fallbackOperatorNamespace+").")
	fs.DurationVar(&f.operator.DriftInterval, "drift-interval", controller.DefaultDriftInterval,
		"How often tokens are checked at Cloudflare (one paged list per parent credential).")
	fs.DurationVar(&f.operator.OrphanGrace, "orphan-grace", controller.DefaultOrphanGrace,
		"How old an unrecorded token of this cluster must be before the sweeper revokes it.")
	fs.IntVar(&f.operator.MaxConcurrentReconciles, "max-concurrent-reconciles", controller.DefaultMaxConcurrentReconciles,
		"How many CloudflareTokens are reconciled at once.")
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
	// A drift interval under a minute would spend Cloudflare's budget on list calls.
	if o.DriftInterval < time.Minute {
		errs = append(errs, fmt.Errorf("--drift-interval must be at least 1m, got %s", o.DriftInterval))
	}
	// The grace must outlast a mint's round trip, or a token being recorded could be swept as an orphan.
	if o.OrphanGrace < time.Minute {
		errs = append(errs, fmt.Errorf("--orphan-grace must be at least 1m, got %s", o.OrphanGrace))
	}
	if o.MaxConcurrentReconciles <= 0 {
		errs = append(errs, fmt.Errorf("--max-concurrent-reconciles must be positive, got %d", o.MaxConcurrentReconciles))
	}
	return errors.Join(errs...)
}

// validate checks the Kubernetes client and leader-election settings, with client-go's own rules for the
// latter (which it would otherwise report only once the manager starts).
func (k *kubeAPIOptions) validate() error {
	var errs []error
	if k.qps < 0 {
		errs = append(errs, fmt.Errorf("--kube-api-qps must not be negative, got %g", k.qps))
	}
	if k.burst < 0 {
		errs = append(errs, fmt.Errorf("--kube-api-burst must not be negative, got %d", k.burst))
	}
	if k.retryPeriod <= 0 {
		errs = append(errs, fmt.Errorf("--leader-election-retry-period must be positive, got %s", k.retryPeriod))
	}
	// client-go: the renew deadline must exceed the retry period times its jitter factor (1.2).
	if float64(k.renewDeadline) <= 1.2*float64(k.retryPeriod) {
		errs = append(errs, fmt.Errorf("--leader-election-renew-deadline (%s) must be longer than 1.2 × "+
			"--leader-election-retry-period (%s)", k.renewDeadline, k.retryPeriod))
	}
	if k.leaseDuration <= k.renewDeadline {
		errs = append(errs, fmt.Errorf("--leader-election-lease-duration (%s) must be longer than "+
			"--leader-election-renew-deadline (%s)", k.leaseDuration, k.renewDeadline))
	}
	return errors.Join(errs...)
}
