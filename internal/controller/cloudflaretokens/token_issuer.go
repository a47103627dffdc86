package cloudflaretokens

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/failure"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
)

const issuerIndex = "spec.issuerRef"

// indexIssuer indexes a CloudflareToken by the key (IssuerKey) of the issuer it names.
func indexIssuer(obj client.Object) []string {
	return []string{issuerclient.KeyOf(obj.(*cfv1.CloudflareToken))}
}

// tokensOfIssuer maps an issuer event to the CloudflareTokens that use it.
func (r *Reconciler) tokensOfIssuer(kind string) func(context.Context, client.Object) []reconcile.Request {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		key := issuerclient.Key(kind, obj.GetNamespace(), obj.GetName())
		return r.requestsFor(ctx, client.MatchingFields{issuerIndex: key})
	}
}

// tokensInNamespace maps a namespace whose labels changed (a ClusterTokenIssuer's namespaceSelector may
// now pick it, or no longer) to its CloudflareTokens.
func (r *Reconciler) tokensInNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.requestsFor(ctx, client.InNamespace(obj.GetName()))
}

// requestsFor lists CloudflareTokens from the cache and turns them into reconcile requests.
func (r *Reconciler) requestsFor(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	list := &cfv1.CloudflareTokenList{}
	if err := r.List(ctx, list, opts...); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, t := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: t.Namespace, Name: t.Name}})
	}
	return reqs
}

// resolveIssuer finds the issuer, checks that it serves this namespace, that the token status records is
// within its bounds (else the token is withdrawn) and that the spec is, that it is Ready, and gets its client.
func (r *Reconciler) resolveIssuer(ctx context.Context, p *tokenPass) error {
	iss, err := r.Issuers.Load(ctx, p.tok.Spec.IssuerRef, p.tok.Namespace)
	if err != nil {
		return err
	}
	if err := r.ensureNamespaceSelected(ctx, iss, p.tok.Namespace); err != nil {
		return r.withdrawToken(p, err)
	}
	if err := ensureRecordedWithinIssuer(p.tok, iss); err != nil {
		return r.withdrawToken(p, err)
	}
	if err := precheckIssuerBounds(p.tok, iss); err != nil {
		return err
	}
	if !iss.Obj.GetDeletionTimestamp().IsZero() && p.tok.Status.TokenID == "" {
		return failure.Refuse("IssuerTerminating", "%s is being deleted: it mints no new tokens (it is kept until the "+
			"CloudflareTokens that use it are gone, so that their tokens can be revoked)", iss.Key())
	}
	if ok, msg := iss.Ready(); !ok {
		return failure.Refuse("IssuerNotReady", "%s is not Ready: %s", iss.Key(), msg)
	}
	conn, err := r.Issuers.Connect(ctx, iss)
	if err != nil {
		return err
	}
	p.iss, p.conn = iss, conn
	p.scope = scopeHash(p.tok, iss.Spec, iss.AccountID)
	return nil
}

// ensureRecordedWithinIssuer judges the token status records (its resolved zones and permission groups, and
// its lifetime) against the issuer as it is now, with no Cloudflare call.
func ensureRecordedWithinIssuer(tok *cfv1.CloudflareToken, iss *issuerclient.Issuer) error {
	st := &tok.Status
	if st.TokenID == "" {
		return nil
	}
	if err := ensureScopeWithinIssuer(tok, st.Zones, st.PermissionGroups, iss); err != nil {
		return err
	}
	if maxTTL := iss.Spec.MaxTTL; maxTTL != nil && st.IssuedAt != nil && st.ExpiresAt != nil &&
		st.ExpiresAt.Sub(st.IssuedAt.Time) > maxTTL.Duration {
		return failure.Refuse("TTLNotAllowed", "token %s lives %s, more than %s's spec.maxTTL %s", st.TokenID,
			st.ExpiresAt.Sub(st.IssuedAt.Time), iss.Key(), maxTTL.Duration)
	}
	return nil
}

// withdrawToken answers an issuer that no longer allows the token the resource holds (made stricter, or no
// longer serving the namespace): the token is retired now and revoked after the resource's grace period,
// never left valid until it expires (Reconcile retires tokens whatever the pass's outcome).
func (r *Reconciler) withdrawToken(p *tokenPass, cause error) error {
	ref, ok := failure.AsRefusal(cause)
	if !ok {
		return cause
	}
	if id := p.tok.Status.TokenID; id != "" {
		retireCurrent(p.tok, p.now)
		st := &p.tok.Status
		st.IssuedAt, st.ExpiresAt, st.RenewalTime, st.ScopeHash = nil, nil, nil, ""
		r.event(p.tok, corev1.EventTypeWarning, "Withdrawn", "Revoke", "Token %s is no longer allowed (%s: %s); it is revoked after %s",
			id, ref.Reason, ref.Message, p.tok.Spec.RotationGracePeriodOrDefault())
	}
	return cause
}

// ensureNamespaceSelected refuses a ClusterTokenIssuer whose namespaceSelector does not pick the namespace.
func (r *Reconciler) ensureNamespaceSelected(ctx context.Context, iss *issuerclient.Issuer, namespace string) error {
	if iss.NamespaceSelector == nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(iss.NamespaceSelector)
	if err != nil {
		return failure.Refuse("InvalidNamespaceSelector", "%s: spec.namespaceSelector: %v", iss.Key(), err)
	}
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, types.NamespacedName{Name: namespace}, ns); err != nil {
		return fmt.Errorf("reading namespace %s: %w", namespace, err)
	}
	if !sel.Matches(labels.Set(ns.Labels)) {
		return failure.Refuse("NamespaceNotAllowed", "%s does not serve namespace %q: its spec.namespaceSelector (%s) does not select it",
			iss.Key(), namespace, sel.String())
	}
	return nil
}
