package controller

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
)

const issuerIndex = "spec.issuerRef"

// indexIssuer indexes a CloudflareToken by the key (IssuerKey) of the issuer it names.
func indexIssuer(obj client.Object) []string {
	return []string{issuerKeyOf(obj.(*cfv1.CloudflareToken))}
}

// tokensOfIssuer maps an issuer event to the CloudflareTokens that use it.
func (r *CloudflareTokenReconciler) tokensOfIssuer(kind string) func(context.Context, client.Object) []reconcile.Request {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		key := IssuerKey(kind, obj.GetNamespace(), obj.GetName())
		return r.requestsFor(ctx, client.MatchingFields{issuerIndex: key})
	}
}

// tokensInNamespace maps a namespace whose labels changed (a ClusterTokenIssuer's namespaceSelector may
// now pick it, or no longer) to its CloudflareTokens.
func (r *CloudflareTokenReconciler) tokensInNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.requestsFor(ctx, client.InNamespace(obj.GetName()))
}

// requestsFor lists CloudflareTokens from the cache and turns them into reconcile requests.
func (r *CloudflareTokenReconciler) requestsFor(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
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
func (r *CloudflareTokenReconciler) resolveIssuer(ctx context.Context, p *tokenPass) error {
	iss, err := r.Issuers.loadIssuerObject(ctx, p.tok.Spec.IssuerRef, p.tok.Namespace)
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
	if !iss.obj.GetDeletionTimestamp().IsZero() && p.tok.Status.TokenID == "" {
		return refuse("IssuerTerminating", "%s is being deleted: it mints no new tokens (it is kept until the "+
			"CloudflareTokens that use it are gone, so that their tokens can be revoked)", iss.key())
	}
	if ok, msg := iss.ready(); !ok {
		return refuse("IssuerNotReady", "%s is not Ready: %s", iss.key(), msg)
	}
	conn, err := r.Issuers.connect(ctx, iss)
	if err != nil {
		return err
	}
	p.iss, p.conn = iss, conn
	p.scope = scopeHash(p.tok, iss.spec, iss.accountID)
	return nil
}

// ensureRecordedWithinIssuer judges the token status records (its resolved zones and permission groups, and
// its lifetime) against the issuer as it is now, with no Cloudflare call.
func ensureRecordedWithinIssuer(tok *cfv1.CloudflareToken, iss *issuer) error {
	st := &tok.Status
	if st.TokenID == "" {
		return nil
	}
	if err := ensureScopeWithinIssuer(tok, st.Zones, st.PermissionGroups, iss); err != nil {
		return err
	}
	if maxTTL := iss.spec.MaxTTL; maxTTL != nil && st.IssuedAt != nil && st.ExpiresAt != nil &&
		st.ExpiresAt.Sub(st.IssuedAt.Time) > maxTTL.Duration {
		return refuse("TTLNotAllowed", "token %s lives %s, more than %s's spec.maxTTL %s", st.TokenID,
			st.ExpiresAt.Sub(st.IssuedAt.Time), iss.key(), maxTTL.Duration)
	}
	return nil
}

// withdrawToken answers an issuer that no longer allows the token the resource holds (made stricter, or no
// longer serving the namespace): the token is retired now and revoked after the resource's grace period,
// never left valid until it expires (Reconcile retires tokens whatever the pass's outcome).
func (r *CloudflareTokenReconciler) withdrawToken(p *tokenPass, cause error) error {
	ref, ok := asRefusal(cause)
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
func (r *CloudflareTokenReconciler) ensureNamespaceSelected(ctx context.Context, iss *issuer, namespace string) error {
	if iss.namespaceSelector == nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(iss.namespaceSelector)
	if err != nil {
		return refuse("InvalidNamespaceSelector", "%s: spec.namespaceSelector: %v", iss.key(), err)
	}
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, types.NamespacedName{Name: namespace}, ns); err != nil {
		return fmt.Errorf("reading namespace %s: %w", namespace, err)
	}
	if !sel.Matches(labels.Set(ns.Labels)) {
		return refuse("NamespaceNotAllowed", "%s does not serve namespace %q: its spec.namespaceSelector (%s) does not select it",
			iss.key(), namespace, sel.String())
	}
	return nil
}
