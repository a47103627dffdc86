package issuers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/failure"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/inventory"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/observe"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/statuspatch"
)

// issuerRetry is the wait after a failed verification that the failure policy does not lengthen.
const issuerRetry = 30 * time.Second

// Reconciler verifies the parent credential of TokenIssuers or ClusterTokenIssuers (one instance per
// kind) and reports it in the Ready condition.
type Reconciler struct {
	client.Client
	Issuers   *issuerclient.Loader
	Inventory *inventory.Inventory
	// Kind is TokenIssuer or ClusterTokenIssuer.
	Kind string
	// VerifyInterval is how often a verified credential is checked again.
	VerifyInterval time.Duration
	// QuotaInterval is how often status.tokensHeld is refreshed from the inventory between verifications
	// (the drift interval, at which the inventory is swept); 0 refreshes only when verifying.
	QuotaInterval time.Duration
	Clock         clock.PassiveClock
	Observer      observe.Observer
}

func (r *Reconciler) observer() observe.Observer { return observe.OrNop(r.Observer) }

// Issuers: update/patch only to add and remove the in-use finalizer.
// +kubebuilder:rbac:groups=cloudflare.tokenoperator.dev,resources=tokenissuers;clustertokenissuers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=cloudflare.tokenoperator.dev,resources=tokenissuers/finalizers;clustertokenissuers/finalizers,verbs=update
// +kubebuilder:rbac:groups=cloudflare.tokenoperator.dev,resources=tokenissuers/status;clustertokenissuers/status,verbs=get;update;patch

// Reconcile verifies the credential when the spec changed, when it was never verified, or when the last
// verification is older than VerifyInterval; otherwise it makes no Cloudflare call.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	iss, err := r.load(ctx, req)
	if err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if deleting, err := r.ensureInUseFinalizer(ctx, iss); deleting || err != nil {
		return ctrl.Result{}, err
	}
	// Status is written once, when the pass ends, as the CloudflareToken controller writes it.
	patch := statuspatch.New(iss.Obj)
	defer func() {
		if perr := patch.Apply(ctx, r.Client, iss.Obj); perr != nil && !apierrors.IsNotFound(perr) {
			err = errors.Join(err, fmt.Errorf("writing status: %w", perr))
		}
	}()
	now := r.Clock.Now()
	st := iss.Status
	if wait := r.untilNextVerify(iss, now); wait > 0 {
		// The count comes from the shared inventory (no Cloudflare call); its key needs the credential.
		if r.Issuers.LoadCredential(ctx, iss) == nil {
			r.reportQuota(iss)
		}
		if r.QuotaInterval > 0 {
			wait = min(wait, r.QuotaInterval)
		}
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	res, err = r.verify(ctx, iss)
	if err == nil && meta.IsStatusConditionTrue(st.Conditions, cfv1.ConditionReady) && r.QuotaInterval > 0 {
		// Verified: come back at the quota interval to refresh tokensHeld (the next verification waits for
		// VerifyInterval all the same).
		res.RequeueAfter = min(res.RequeueAfter, r.QuotaInterval)
	}
	st.LastVerifiedAt = ptr.To(metav1.NewTime(now.Truncate(time.Second)))
	return res, err
}

func (r *Reconciler) load(ctx context.Context, req ctrl.Request) (*issuerclient.Issuer, error) {
	if r.Kind == cfv1.KindClusterTokenIssuer {
		obj := &cfv1.ClusterTokenIssuer{}
		if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
			return nil, err
		}
		return issuerclient.FromClusterTokenIssuer(obj), nil
	}
	obj := &cfv1.TokenIssuer{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return nil, err
	}
	return issuerclient.FromTokenIssuer(obj), nil
}

// untilNextVerify is zero when the credential must be verified now.
func (r *Reconciler) untilNextVerify(iss *issuerclient.Issuer, now time.Time) time.Duration {
	st := iss.Status
	ready := meta.FindStatusCondition(st.Conditions, cfv1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue || st.ObservedGeneration != iss.Obj.GetGeneration() || st.LastVerifiedAt == nil {
		return 0
	}
	next := st.LastVerifiedAt.Add(r.VerifyInterval)
	if st.CredentialExpiresAt != nil && st.CredentialExpiresAt.Before(&metav1.Time{Time: next}) {
		next = st.CredentialExpiresAt.Time
	}
	return next.Sub(now)
}

// verify checks the credential at Cloudflare and sets Ready.
func (r *Reconciler) verify(ctx context.Context, iss *issuerclient.Issuer) (ctrl.Result, error) {
	st := iss.Status
	gen := iss.Obj.GetGeneration()
	set := func(status metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: cfv1.ConditionReady, Status: status,
			Reason: reason, Message: msg, ObservedGeneration: gen})
	}
	conn, err := r.Issuers.Connect(ctx, iss)
	if _, refused := failure.AsRefusal(err); err != nil && !refused && cloudflare.ClassOf(err) == "" {
		return ctrl.Result{}, err // reading the Secret failed: controller-runtime backs off
	}
	var info cloudflare.CredentialInfo
	if err == nil {
		info, err = conn.Client.Verify(ctx)
		st.CredentialExpiresAt = nil
		if info.ExpiresOn != nil {
			st.CredentialExpiresAt = ptr.To(metav1.NewTime(*info.ExpiresOn))
		}
	}
	if err != nil {
		v := failure.Judge(err, issuerRetry)
		msg := v.Message
		if v.Refusal != nil {
			msg = v.Refusal.Message
		}
		set(metav1.ConditionFalse, v.Reason, msg)
		if v.Terminal {
			// The credential Secret is not watched (it is not in the cache): look again soon; it costs no
			// Cloudflare call.
			return ctrl.Result{RequeueAfter: time.Minute}, nil
		}
		return ctrl.Result{RequeueAfter: v.After}, nil
	}
	st.ObservedGeneration = gen
	r.checkHardening(ctx, conn.Client, iss, info)
	var expires time.Time // zero: it does not expire
	if st.CredentialExpiresAt != nil {
		expires = st.CredentialExpiresAt.Time
	}
	r.observer().CredentialExpiry(iss.Key(), expires)
	set(metav1.ConditionTrue, "Verified", fmt.Sprintf("the parent credential is valid (%s-owned tokens)", iss.Config.Owner))
	r.reportQuota(iss)
	return ctrl.Result{RequeueAfter: r.VerifyInterval}, nil
}

// reportQuota shows how many tokens the owner holds against Cloudflare's quota, as of the last sweep.
func (r *Reconciler) reportQuota(iss *issuerclient.Issuer) {
	quota := iss.Quota()
	iss.Status.TokenQuota = int32(quota)
	if iss.Config.BaseURL == "" {
		return
	}
	if n, ok := r.Inventory.Count(iss.InventoryKey()); ok {
		held := int32(n)
		iss.Status.TokensHeld = &held
		r.observer().IssuerQuota(iss.Key(), n, quota)
	}
}

// SetupWithManager watches the issuers of r.Kind.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	var obj client.Object = &cfv1.TokenIssuer{}
	if r.Kind == cfv1.KindClusterTokenIssuer {
		obj = &cfv1.ClusterTokenIssuer{}
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(obj, builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, deletionStarted))).
		Watches(&cfv1.CloudflareToken{}, handler.EnqueueRequestsFromMapFunc(r.issuersOfToken), builder.WithPredicates(usesChanged)).
		Named(strings.ToLower(r.Kind)).
		Complete(r)
}

var _ reconcile.Reconciler = &Reconciler{}
