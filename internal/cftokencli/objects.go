package cftokencli

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// The plugin reads objects as the server sends them and decodes the fields it knows: a status field added
// after this plugin was built is not lost, it stays in rawStatus and shows in -o json|yaml and in the story.

// tokenObject is a CloudflareToken and its status as sent.
type tokenObject struct {
	*cfv1.CloudflareToken
	rawStatus map[string]any
}

func (s *session) getToken(ctx context.Context, ns, name string) (*tokenObject, error) {
	u := newUnstructured("CloudflareToken")
	if err := s.kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		return nil, fmt.Errorf("reading CloudflareToken %s/%s: %w", ns, name, err)
	}
	return decodeToken(u)
}

// listTokens lists the CloudflareTokens of ns, or of every namespace when ns is "".
func (s *session) listTokens(ctx context.Context, ns string) ([]*tokenObject, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(cfv1.GroupVersion.WithKind("CloudflareTokenList"))
	if err := s.kube.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing CloudflareTokens%s: %w", inNamespace(ns), err)
	}
	out := make([]*tokenObject, 0, len(list.Items))
	for i := range list.Items {
		t, err := decodeToken(&list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func decodeToken(u *unstructured.Unstructured) (*tokenObject, error) {
	t := &cfv1.CloudflareToken{}
	raw, err := decode(u, t)
	if err != nil {
		return nil, err
	}
	return &tokenObject{CloudflareToken: t, rawStatus: raw}, nil
}

// issuerObject is a TokenIssuer or a ClusterTokenIssuer and its status as sent.
type issuerObject struct {
	Kind      string
	Namespace string
	Name      string
	Spec      cfv1.IssuerSpec
	Status    cfv1.IssuerStatus
	// NamespaceSelector is a ClusterTokenIssuer's.
	NamespaceSelector *metav1.LabelSelector
	rawStatus         map[string]any
}

func (s *session) getIssuer(ctx context.Context, kind, ns, name string) (*issuerObject, error) {
	if kind == cfv1.KindClusterTokenIssuer {
		ns = ""
	}
	u := newUnstructured(kind)
	if err := s.kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", kind, name, err)
	}
	return decodeIssuer(u)
}

// listIssuers lists the issuers of one kind: TokenIssuers of ns ("" for all), or every ClusterTokenIssuer.
func (s *session) listIssuers(ctx context.Context, kind, ns string) ([]*issuerObject, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(cfv1.GroupVersion.WithKind(kind + "List"))
	var opts []client.ListOption
	if kind == cfv1.KindTokenIssuer {
		opts = append(opts, client.InNamespace(ns))
	}
	if err := s.kube.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("listing %ss: %w", kind, err)
	}
	out := make([]*issuerObject, 0, len(list.Items))
	for i := range list.Items {
		iss, err := decodeIssuer(&list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, iss)
	}
	return out, nil
}

func decodeIssuer(u *unstructured.Unstructured) (*issuerObject, error) {
	out := &issuerObject{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
	if out.Kind == cfv1.KindClusterTokenIssuer {
		c := &cfv1.ClusterTokenIssuer{}
		raw, err := decode(u, c)
		if err != nil {
			return nil, err
		}
		out.Spec, out.Status, out.NamespaceSelector, out.rawStatus = c.Spec.IssuerSpec, c.Status, c.Spec.NamespaceSelector, raw
		return out, nil
	}
	t := &cfv1.TokenIssuer{}
	raw, err := decode(u, t)
	if err != nil {
		return nil, err
	}
	out.Spec, out.Status, out.rawStatus = t.Spec, t.Status, raw
	return out, nil
}

func newUnstructured(kind string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(cfv1.GroupVersion.WithKind(kind))
	return u
}

// decode fills into with the fields it knows (unknown ones are ignored) and returns the status as sent.
func decode(u *unstructured.Unstructured, into any) (map[string]any, error) {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		return nil, fmt.Errorf("decoding %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	raw, _, _ := unstructured.NestedMap(u.Object, "status")
	return raw, nil
}

// readyOf is the Ready condition, or a placeholder with status Unknown when there is none yet.
func readyOf(conds []metav1.Condition) metav1.Condition {
	if c := meta.FindStatusCondition(conds, cfv1.ConditionReady); c != nil {
		return *c
	}
	return metav1.Condition{Type: cfv1.ConditionReady, Status: metav1.ConditionUnknown, Reason: "NotObservedYet",
		Message: "the operator has not reported on it yet"}
}

func inNamespace(ns string) string {
	if ns == "" {
		return " in all namespaces"
	}
	return " in namespace " + ns
}
