package controller

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
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// quotaOf is Cloudflare's limit for the issuer's token owner.
func quotaOf(iss *issuer) int { return cloudflare.QuotaOf(ownerOf(iss.spec.TokenOwner)) }

// issuerRetry is the wait after a failed verification that the failure policy does not lengthen.
const issuerRetry = 30 * time.Second

// rotationHeadroom is how many of the quota's tokens first mints leave free, so that rotations, which
// briefly hold two tokens, still fit: one in fifty.
func rotationHeadroom(quota int) int { return max(1, quota/50) }

// IssuerReconciler verifies the parent credential of TokenIssuers or ClusterTokenIssuers (one instance per
// kind) and reports it in the Ready condition.
type IssuerReconciler struct {
	client.Client
	Issuers   *IssuerLoader
	Inventory *Inventory
	// Kind is TokenIssuer or ClusterTokenIssuer.
	Kind string
	// VerifyInterval is how often a verified credential is checked again.
	VerifyInterval time.Duration
	// QuotaInterval is how often status.tokensHeld is refreshed from the inventory between verifications
	// (the drift interval, at which the inventory is swept); 0 refreshes only when verifying.
	QuotaInterval time.Duration
	Clock         clock.PassiveClock
	Observer      Observer
}

func (r *IssuerReconciler) observer() Observer {
	if r.Observer == nil {
		return nopObserver{}
	}
	return r.Observer
}

// Issuers: update/patch only to add and remove the in-use finalizer.
// +kubebuilder:rbac:groups=cloudflare.tokenoperator.dev,resources=tokenissuers;clustertokenissuers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=cloudflare.tokenoperator.dev,resources=tokenissuers/finalizers;clustertokenissuers/finalizers,verbs=update
// +kubebuilder:rbac:groups=cloudflare.tokenoperator.dev,resources=tokenissuers/status;clustertokenissuers/status,verbs=get;update;patch

// Reconcile verifies the credential when the spec changed, when it was never verified, or when the last
// verification is older than VerifyInterval; otherwise it makes no Cloudflare call.
func (r *IssuerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	iss, err := r.load(ctx, req)
	if err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if deleting, err := r.ensureInUseFinalizer(ctx, iss); deleting || err != nil {
		return ctrl.Result{}, err
	}
	// Status is written once, when the pass ends, as the CloudflareToken controller writes it.
	patch := newStatusPatch(iss.obj)
	defer func() {
		if perr := patch.apply(ctx, r.Client, iss.obj); perr != nil && !apierrors.IsNotFound(perr) {
			err = errors.Join(err, fmt.Errorf("writing status: %w", perr))
		}
	}()
	now := r.Clock.Now()
	st := iss.status
	if wait := r.untilNextVerify(iss, now); wait > 0 {
		// The count comes from the shared inventory (no Cloudflare call); its key needs the credential.
		if r.Issuers.loadCredential(ctx, iss) == nil {
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
	st.LastVerifiedAt = timePtr(now.Truncate(time.Second))
	return res, err
}

func (r *IssuerReconciler) load(ctx context.Context, req ctrl.Request) (*issuer, error) {
	if r.Kind == cfv1.KindClusterTokenIssuer {
		obj := &cfv1.ClusterTokenIssuer{}
		if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
			return nil, err
		}
		return clusterTokenIssuer(obj), nil
	}
	obj := &cfv1.TokenIssuer{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return nil, err
	}
	return tokenIssuer(obj), nil
}

// untilNextVerify is zero when the credential must be verified now.
func (r *IssuerReconciler) untilNextVerify(iss *issuer, now time.Time) time.Duration {
	st := iss.status
	ready := meta.FindStatusCondition(st.Conditions, cfv1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue || st.ObservedGeneration != iss.obj.GetGeneration() || st.LastVerifiedAt == nil {
		return 0
	}
	next := st.LastVerifiedAt.Add(r.VerifyInterval)
	if st.CredentialExpiresAt != nil && st.CredentialExpiresAt.Before(&metav1.Time{Time: next}) {
		next = st.CredentialExpiresAt.Time
	}
	return next.Sub(now)
}

// verify checks the credential at Cloudflare and sets Ready.
func (r *IssuerReconciler) verify(ctx context.Context, iss *issuer) (ctrl.Result, error) {
	st := iss.status
	gen := iss.obj.GetGeneration()
	set := func(status metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: cfv1.ConditionReady, Status: status,
			Reason: reason, Message: msg, ObservedGeneration: gen})
	}
	conn, err := r.Issuers.connect(ctx, iss)
	if _, refused := asRefusal(err); err != nil && !refused && cloudflare.ClassOf(err) == "" {
		return ctrl.Result{}, err // reading the Secret failed: controller-runtime backs off
	}
	var info cloudflare.CredentialInfo
	if err == nil {
		info, err = conn.cl.Verify(ctx)
		st.CredentialExpiresAt = nil
		if info.ExpiresOn != nil {
			st.CredentialExpiresAt = timePtr(*info.ExpiresOn)
		}
	}
	if err != nil {
		v := judge(err, issuerRetry)
		msg := v.message
		if v.refusal != nil {
			msg = v.refusal.Message
		}
		set(metav1.ConditionFalse, v.reason, msg)
		if v.terminal {
			// The credential Secret is not watched (it is not in the cache): look again soon; it costs no
			// Cloudflare call.
			return ctrl.Result{RequeueAfter: time.Minute}, nil
		}
		return ctrl.Result{RequeueAfter: v.after}, nil
	}
	st.ObservedGeneration = gen
	r.checkHardening(ctx, conn.cl, iss, info)
	r.observer().CredentialExpiry(iss.key(), timeOf(st.CredentialExpiresAt))
	set(metav1.ConditionTrue, "Verified", fmt.Sprintf("the parent credential is valid (%s-owned tokens)", iss.config.Owner))
	r.reportQuota(iss)
	return ctrl.Result{RequeueAfter: r.VerifyInterval}, nil
}

// reportQuota shows how many tokens the owner holds against Cloudflare's quota, as of the last sweep.
func (r *IssuerReconciler) reportQuota(iss *issuer) {
	quota := quotaOf(iss)
	iss.status.TokenQuota = int32(quota)
	if iss.config.BaseURL == "" {
		return
	}
	if n, ok := r.Inventory.Count(iss.inventoryKey()); ok {
		held := int32(n)
		iss.status.TokensHeld = &held
		r.observer().IssuerQuota(iss.key(), n, quota)
	}
}

// SetupWithManager watches the issuers of r.Kind.
func (r *IssuerReconciler) SetupWithManager(mgr ctrl.Manager) error {
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

var _ reconcile.Reconciler = &IssuerReconciler{}
