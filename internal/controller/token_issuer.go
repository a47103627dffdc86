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

func issuerIndexValue(kind, namespace, name string) string {
	if kind == cfv1.KindClusterTokenIssuer {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

func indexIssuer(obj client.Object) []string {
	tok := obj.(*cfv1.CloudflareToken)
	return []string{issuerIndexValue(tok.Spec.IssuerRef.Kind, tok.Namespace, tok.Spec.IssuerRef.Name)}
}

// tokensOfIssuer maps an issuer event to the CloudflareTokens that use it.
func (r *CloudflareTokenReconciler) tokensOfIssuer(kind string) func(context.Context, client.Object) []reconcile.Request {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		key := issuerIndexValue(kind, obj.GetNamespace(), obj.GetName())
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

// resolveIssuer finds the issuer, checks that it serves this namespace and is Ready, and gets its client.
func (r *CloudflareTokenReconciler) resolveIssuer(ctx context.Context, p *tokenPass) error {
	iss, err := r.Issuers.loadIssuerObject(ctx, p.tok.Spec.IssuerRef, p.tok.Namespace)
	if err != nil {
		return err
	}
	if err := r.ensureNamespaceSelected(ctx, iss, p.tok.Namespace); err != nil {
		return err
	}
	if err := ensureWithinIssuerBounds(p.tok, iss); err != nil {
		return err
	}
	if ok, msg := iss.ready(); !ok {
		return refuse("IssuerNotReady", "%s is not Ready: %s", iss.key(), msg)
	}
	if err := r.Issuers.loadCredential(ctx, iss); err != nil {
		return err
	}
	cl, err := r.Factory.ClientFor(iss.config)
	if err != nil {
		return fmt.Errorf("cloudflare client for %s: %w", iss.key(), err)
	}
	p.iss, p.cl = iss, cl
	p.scope = scopeHash(p.tok, iss.spec, iss.accountID)
	return nil
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
