package controller

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// issuer is a TokenIssuer or ClusterTokenIssuer, read and turned into what minting needs.
type issuer struct {
	kind, name, namespace string
	obj                   client.Object
	spec                  *cfv1.IssuerSpec
	status                *cfv1.IssuerStatus
	namespaceSelector     *metav1.LabelSelector
	accountID             string
	config                cloudflare.Config
}

// key names the issuer in messages, metrics, events and the field index.
func (i *issuer) key() string { return IssuerKey(i.kind, i.namespace, i.name) }

// IssuerKey names an issuer: Kind/namespace/name for a TokenIssuer, Kind/name for a ClusterTokenIssuer
// (whose namespace, for a reference from a namespaced resource, is ignored). The one spelling of an issuer.
func IssuerKey(kind, namespace, name string) string {
	if kind == cfv1.KindClusterTokenIssuer {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

// ownerOf is the client's owner for the API's tokenOwner (User when unset).
func ownerOf(o cfv1.TokenOwner) cloudflare.Owner {
	if o == cfv1.TokenOwnerAccount {
		return cloudflare.OwnerAccount
	}
	return cloudflare.OwnerUser
}

// inventoryKey is shared by every issuer that mints through the same credential, owner and account, since
// they see the same list of tokens at Cloudflare: the factory's own key for the client (cloudflare.ConfigKey).
func (i *issuer) inventoryKey() string { return cloudflare.ConfigKey(i.config) }

// ready reports the issuer's Ready condition as its controller last set it for its current generation.
func (i *issuer) ready() (bool, string) {
	c := meta.FindStatusCondition(i.status.Conditions, cfv1.ConditionReady)
	if c == nil || c.ObservedGeneration != i.obj.GetGeneration() {
		return false, "its credential has not been verified yet"
	}
	return c.Status == metav1.ConditionTrue, c.Message
}

// IssuerLoader reads issuers and their parent credentials. Credentials are read with an uncached reader:
// parent Secrets are not in the operator's cache, which holds only Secrets the operator writes.
type IssuerLoader struct {
	Client    client.Client
	APIReader client.Reader
	// OperatorNamespace is the only namespace ClusterTokenIssuer credentials are read from.
	OperatorNamespace string
	// BaseURL of Cloudflare's API.
	BaseURL string
	// Factory makes the clients (connect).
	Factory cloudflare.Factory
}

// loadIssuerObject reads the issuer a CloudflareToken refers to.
func (l *IssuerLoader) loadIssuerObject(ctx context.Context, ref cfv1.IssuerRef, namespace string) (*issuer, error) {
	switch ref.Kind {
	case cfv1.KindTokenIssuer:
		obj := &cfv1.TokenIssuer{}
		if err := l.Client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, obj); err != nil {
			return nil, notFoundAsRefusal(err, "IssuerNotFound",
				"spec.issuerRef: TokenIssuer %q not found in namespace %q (a TokenIssuer serves only its own namespace)", ref.Name, namespace)
		}
		return tokenIssuer(obj), nil
	case cfv1.KindClusterTokenIssuer:
		obj := &cfv1.ClusterTokenIssuer{}
		if err := l.Client.Get(ctx, types.NamespacedName{Name: ref.Name}, obj); err != nil {
			return nil, notFoundAsRefusal(err, "IssuerNotFound", "spec.issuerRef: ClusterTokenIssuer %q not found", ref.Name)
		}
		return clusterTokenIssuer(obj), nil
	}
	return nil, refuse("InvalidIssuerRef", "spec.issuerRef.kind %q is neither TokenIssuer nor ClusterTokenIssuer", ref.Kind)
}

func tokenIssuer(obj *cfv1.TokenIssuer) *issuer {
	return &issuer{kind: cfv1.KindTokenIssuer, name: obj.Name, namespace: obj.Namespace, obj: obj, spec: &obj.Spec,
		status: &obj.Status, accountID: obj.Spec.AccountID}
}

func clusterTokenIssuer(obj *cfv1.ClusterTokenIssuer) *issuer {
	return &issuer{kind: cfv1.KindClusterTokenIssuer, name: obj.Name, obj: obj, spec: &obj.Spec.IssuerSpec,
		status: &obj.Status, namespaceSelector: obj.Spec.NamespaceSelector, accountID: obj.Spec.AccountID}
}

// loadCredential reads the parent credential into iss.config. A TokenIssuer reads only from its own
// namespace and a ClusterTokenIssuer only from the operator's, so that no tenant can point the operator at
// another tenant's Secret.
func (l *IssuerLoader) loadCredential(ctx context.Context, iss *issuer) error {
	ref, field, defaultKey := iss.spec.APITokenSecretRef, "spec.apiTokenSecretRef", cfv1.DefaultSecretKey
	if ref == nil {
		ref, field, defaultKey = iss.spec.APIKeySecretRef, "spec.apiKeySecretRef", cfv1.DefaultAPIKeySecretKey
	}
	if ref == nil {
		return refuse("InvalidCredentialRef", "one of spec.apiTokenSecretRef or spec.apiKeySecretRef must be set")
	}
	allowed := iss.namespace
	if allowed == "" {
		allowed = l.OperatorNamespace
	}
	ns := ref.Namespace
	if ns == "" {
		ns = allowed
	}
	if ns != allowed {
		return refuse("CredentialNamespaceNotAllowed", "%s.namespace %q: a %s reads its credential only from namespace %q",
			field, ns, iss.kind, allowed)
	}
	key := ref.Key
	if key == "" {
		key = defaultKey
	}
	sec := &corev1.Secret{}
	if err := l.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, sec); err != nil {
		return notFoundAsRefusal(err, "CredentialNotFound", "%s: Secret %s/%s not found", field, ns, ref.Name)
	}
	raw, ok := sec.Data[key]
	if !ok || len(strings.TrimSpace(string(raw))) == 0 {
		return refuse("CredentialKeyMissing", "%s: Secret %s/%s has no key %q (or it is empty)", field, ns, ref.Name, key)
	}
	value := cloudflare.NewSecret(strings.TrimSpace(string(raw)))
	cred := cloudflare.Credential{APIToken: value}
	if iss.spec.APIKeySecretRef != nil {
		cred = cloudflare.Credential{APIKey: value, Email: iss.spec.Email}
	}
	iss.config = cloudflare.Config{BaseURL: l.BaseURL, Credential: cred, AccountID: iss.spec.AccountID,
		Owner: ownerOf(iss.spec.TokenOwner)}
	return nil
}

// listIssuers reads every ClusterTokenIssuer and the TokenIssuers that opts select (all, or one namespace's).
func (l *IssuerLoader) listIssuers(ctx context.Context, opts ...client.ListOption) ([]*issuer, error) {
	var all []*issuer
	cis := &cfv1.ClusterTokenIssuerList{}
	if err := l.Client.List(ctx, cis); err != nil {
		return nil, fmt.Errorf("listing ClusterTokenIssuers: %w", err)
	}
	for i := range cis.Items {
		all = append(all, clusterTokenIssuer(&cis.Items[i]))
	}
	tis := &cfv1.TokenIssuerList{}
	if err := l.Client.List(ctx, tis, opts...); err != nil {
		return all, fmt.Errorf("listing TokenIssuers: %w", err)
	}
	for i := range tis.Items {
		all = append(all, tokenIssuer(&tis.Items[i]))
	}
	return all, nil
}

// notFoundAsRefusal turns a NotFound into a refusal; other errors pass through wrapped.
func notFoundAsRefusal(err error, reason, format string, args ...any) error {
	if apierrors.IsNotFound(err) {
		return refuse(reason, format, args...)
	}
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err)
}
