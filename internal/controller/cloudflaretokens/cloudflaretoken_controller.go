package cloudflaretokens

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/inventory"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/observe"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/statuspatch"
)

// Reconciler mints, rotates and revokes the token a CloudflareToken declares.
type Reconciler struct {
	client.Client
	// APIReader reads around the cache where a stale read could mint or revoke the wrong token.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  recorder.EventRecorder
	Issuers   *issuerclient.Loader
	Inventory *inventory.Inventory
	// ClusterHash marks the names of this cluster's tokens (ClusterHash of --cluster-name).
	ClusterHash string
	// DriftInterval is how often a token's liveness at Cloudflare is checked (by a shared list).
	DriftInterval time.Duration
	Clock         clock.PassiveClock
	MaxConcurrent int
	Observer      observe.Observer
	// Drifted carries CloudflareTokens the orphan sweeper found without a live token.
	Drifted <-chan event.TypedGenericEvent[client.Object]

	// namespaceLocks serialise first mints per issuer and namespace (maxTokensPerNamespace).
	namespaceLocks keyedMutex
}

func (r *Reconciler) observer() observe.Observer { return observe.OrNop(r.Observer) }

// tokenPass is what one reconciliation learns as it goes, step by step.
type tokenPass struct {
	tok   *cfv1.CloudflareToken
	iss   *issuerclient.Issuer
	conn  issuerclient.Connection // to the owner the issuer mints for now
	scope string                  // scopeHash of the spec as it is now
	now   time.Time
	patch *statuspatch.Patch
	// origins are the clients through which recorded tokens are revoked, by origin (clientForOrigin).
	origins map[string]*originClient
}

// RBAC, rule by rule (config/rbac/role.yaml is generated from these; test/packaging lists what it grants):
// CloudflareTokens: read and watch them; update/patch only to add and remove the finalizer.
// +kubebuilder:rbac:groups=cloudflare.tokenoperator.dev,resources=cloudflaretokens,verbs=get;list;watch;update;patch
// Their status is the operator's record of every token it minted.
// +kubebuilder:rbac:groups=cloudflare.tokenoperator.dev,resources=cloudflaretokens/status,verbs=get;update;patch
// Owner references with blockOwnerDeletion on the Secrets need update on the owner's finalizers.
// +kubebuilder:rbac:groups=cloudflare.tokenoperator.dev,resources=cloudflaretokens/finalizers,verbs=update
// Issuers are only read here; their status is written by the issuer controller.
// +kubebuilder:rbac:groups=cloudflare.tokenoperator.dev,resources=tokenissuers;clustertokenissuers,verbs=get;list;watch
// Secrets: CloudflareTokens live in any namespace, so the Secrets the token is written to are created,
// updated (rotation), patched (Retain drops the owner reference) and deleted (Revoke) cluster-wide; only
// Secrets carrying the operator's label are cached and watched, and parent credentials are read by name.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// Namespaces: a ClusterTokenIssuer's namespaceSelector is matched against namespace labels.
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// Events on transitions (minted, rotated, revoked, refused).
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile walks the lifecycle: finalizer, issuer, recovery of unrecorded tokens, the token itself, the
// Secret, then retirement of replaced tokens. Status is written once, when the pass ends.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	tok := &cfv1.CloudflareToken{}
	if err := r.Get(ctx, req.NamespacedName, tok); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	pass := &tokenPass{tok: tok, now: r.Clock.Now(), patch: statuspatch.New(tok)}
	defer func() { res, err = r.finish(ctx, pass, err) }()

	if !tok.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, pass)
	}
	steps := []func(context.Context, *tokenPass) error{
		r.ensureFinalizer,
		r.reportBlockedTLDs,
		r.resolveIssuer,
		r.recoverUnrecordedTokens,
		r.ensureLiveToken,
		r.recordUsage,
		r.retireDeadTokens,
	}
	for _, step := range steps {
		if err = step(ctx, pass); err != nil {
			break
		}
	}
	// Replaced tokens are revoked through the issuers that minted them, so this runs whatever the steps
	// above met: a refusal or an outage of the current issuer must not keep old tokens valid.
	if len(tok.Status.RetiringTokens) > 0 || isConditionTrue(tok, cfv1.ConditionTokensStranded) {
		if rerr := r.retireReplacedTokens(ctx, pass); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return ctrl.Result{}, err
}

// SetupWithManager watches CloudflareTokens, the Secrets they own, and the issuers they use.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &cfv1.CloudflareToken{}, issuerIndex, indexIssuer); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&cfv1.CloudflareToken{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		// Metadata only: the Secrets' data never reaches the manager's memory through a watch.
		Owns(&corev1.Secret{}, builder.OnlyMetadata).
		Watches(&cfv1.TokenIssuer{}, handler.EnqueueRequestsFromMapFunc(r.tokensOfIssuer(cfv1.KindTokenIssuer)),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Watches(&cfv1.ClusterTokenIssuer{}, handler.EnqueueRequestsFromMapFunc(r.tokensOfIssuer(cfv1.KindClusterTokenIssuer)),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.tokensInNamespace),
			builder.WithPredicates(predicate.LabelChangedPredicate{}))
	if r.Drifted != nil {
		b = b.WatchesRawSource(source.Channel(r.Drifted, &handler.EnqueueRequestForObject{}))
	}
	return b.
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrent, 1)}).
		Named("cloudflaretoken").
		Complete(r)
}
