// Package controller wires the operator's controllers into a manager (Setup) and says what its cache holds
// (CacheOptions). The controllers live in cloudflaretokens, issuers and sweeper; what they share lives in
// issuerclient, inventory, tokenname, failure, statuspatch and observe. docs/architecture.md is the map.
package controller

import (
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/cloudflaretokens"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/inventory"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuers"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/observe"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/sweeper"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/tokenname"
)

// Config is what the reconcilers need from the command line.
type Config struct {
	CloudflareAPIURL  string
	ClusterName       string
	OperatorNamespace string
	APIRequestsPer5m  int
	// DriftInterval is how often tokens are checked at Cloudflare (one paged list per credential).
	DriftInterval time.Duration
	// VerifyInterval is how often a verified parent credential is verified again.
	VerifyInterval time.Duration
	// MaxConcurrentReconciles of the CloudflareToken controller.
	MaxConcurrentReconciles int
	// OrphanGrace is how old an unrecorded token of this cluster must be before the sweeper revokes it.
	OrphanGrace time.Duration
	// Metrics receives the Cloudflare client's request observations; may be nil.
	Metrics cloudflare.Metrics
	// Observer receives what the controllers do, for metrics; may be nil.
	Observer observe.Observer
	// HTTPClient carries every Cloudflare request; nil means a client on http.DefaultTransport. Tests wrap
	// its transport to observe or interrupt requests.
	HTTPClient *http.Client
	// Clock is the one clock of the controllers, the sweeper's ticker, the inventory and the Cloudflare
	// clients (budget, caches, Retry-After); the real clock when nil.
	Clock clock.WithTicker
}

// Defaults for Config.
const (
	DefaultDriftInterval  = 10 * time.Minute
	DefaultVerifyInterval = time.Hour
	DefaultOrphanGrace    = 30 * time.Minute
	// DefaultMaxConcurrentReconciles of the CloudflareToken controller: reconciles mostly wait on Cloudflare.
	DefaultMaxConcurrentReconciles = 4
)

// CacheOptions keeps only the metadata of Secrets with the operator's label in the cache, never their data
// (the watch carries metadata only; TransformSecretForCache trims what a tenant could add): a cluster's
// other Secrets are never read into memory; the controller reads its own Secrets, and parent credentials,
// uncached and by name. managedFields, which the operator never reads, are dropped from
// every cached object.
func CacheOptions() cache.Options {
	return cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			// What the controller watches: the metadata of Secrets with the operator's label.
			cloudflaretokens.SecretMetadata(): {
				Label:     labels.SelectorFromSet(labels.Set{cfv1.LabelManagedBy: cfv1.ManagedByValue}),
				Transform: cloudflaretokens.TransformSecretForCache,
			},
			// Never read through the cache; should anything ever do so, the same selection and transform apply.
			&corev1.Secret{}: {
				Label:     labels.SelectorFromSet(labels.Set{cfv1.LabelManagedBy: cfv1.ManagedByValue}),
				Transform: cloudflaretokens.TransformSecretForCache,
			},
		},
		DefaultTransform: cache.TransformStripManagedFields(),
	}
}

// Setup registers the CloudflareToken, TokenIssuer and ClusterTokenIssuer reconcilers with the manager.
func Setup(mgr ctrl.Manager, cfg Config) error {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.DriftInterval <= 0 {
		cfg.DriftInterval = DefaultDriftInterval
	}
	if cfg.VerifyInterval <= 0 {
		cfg.VerifyInterval = DefaultVerifyInterval
	}
	if cfg.OrphanGrace <= 0 {
		cfg.OrphanGrace = DefaultOrphanGrace
	}
	if cfg.MaxConcurrentReconciles <= 0 {
		cfg.MaxConcurrentReconciles = DefaultMaxConcurrentReconciles
	}
	factory := cloudflare.NewFactory(cloudflare.FactoryOptions{
		RequestsPer5m: cfg.APIRequestsPer5m, Clock: cfg.Clock, Metrics: cfg.Metrics, HTTPClient: cfg.HTTPClient})
	inv := inventory.New(cfg.DriftInterval, cfg.Clock)
	loader := &issuerclient.Loader{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		OperatorNamespace: cfg.OperatorNamespace, BaseURL: cfg.CloudflareAPIURL, Factory: factory}

	for _, kind := range []string{cfv1.KindTokenIssuer, cfv1.KindClusterTokenIssuer} {
		if err := (&issuers.Reconciler{Client: mgr.GetClient(), Issuers: loader, Inventory: inv,
			Kind: kind, VerifyInterval: cfg.VerifyInterval, QuotaInterval: cfg.DriftInterval, Clock: cfg.Clock,
			Observer: cfg.Observer}).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("setting up the %s controller: %w", kind, err)
		}
	}
	drifted := make(chan event.TypedGenericEvent[client.Object], 64)
	tokens := &cloudflaretokens.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Scheme: mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("cloudflare-token-operator"), Issuers: loader,
		Inventory: inv, ClusterHash: tokenname.ClusterHash(cfg.ClusterName), DriftInterval: cfg.DriftInterval,
		Clock: cfg.Clock, MaxConcurrent: cfg.MaxConcurrentReconciles, Observer: cfg.Observer,
		Drifted: drifted,
	}
	if err := tokens.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the CloudflareToken controller: %w", err)
	}
	orphans := &sweeper.OrphanSweeper{Client: mgr.GetClient(), Issuers: loader, Inventory: inv,
		ClusterHash: tokenname.ClusterHash(cfg.ClusterName), Interval: cfg.DriftInterval, Grace: cfg.OrphanGrace, Clock: cfg.Clock,
		Observer: cfg.Observer, Log: mgr.GetLogger().WithName("orphan-sweeper"), Drifted: drifted}
	if err := mgr.Add(orphans); err != nil {
		return fmt.Errorf("adding the orphan sweeper: %w", err)
	}
	return nil
}
