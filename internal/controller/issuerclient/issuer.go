// Package issuerclient is the way from a TokenIssuer or ClusterTokenIssuer to Cloudflare, for every
// controller: the issuer read (Issuer, Key), its parent credential read with the namespace rules, and a client
// (Connection) through the shared factory, keyed by the factory's own key.
package issuerclient

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/failure"
)

// Issuer is a TokenIssuer or ClusterTokenIssuer, read and turned into what minting needs.
type Issuer struct {
	Kind, Name, Namespace string // Namespace is empty for a ClusterTokenIssuer
	Obj                   client.Object
	Spec                  *cfv1.IssuerSpec
	Status                *cfv1.IssuerStatus
	NamespaceSelector     *metav1.LabelSelector
	AccountID             string
	// Config is the client configuration, once LoadCredential has read the parent credential.
	Config cloudflare.Config
}

// Key names the issuer in messages, metrics, events and the field index.
func (i *Issuer) Key() string { return Key(i.Kind, i.Namespace, i.Name) }

// Key names an issuer: Kind/namespace/name for a TokenIssuer, Kind/name for a ClusterTokenIssuer
// (whose namespace, for a reference from a namespaced resource, is ignored). The one spelling of an issuer.
func Key(kind, namespace, name string) string {
	if kind == cfv1.KindClusterTokenIssuer {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

// KeyOf is the key of the issuer a CloudflareToken names.
func KeyOf(tok *cfv1.CloudflareToken) string {
	return Key(tok.Spec.IssuerRef.Kind, tok.Namespace, tok.Spec.IssuerRef.Name)
}

// OwnerOf is the client's owner for the API's tokenOwner (User when unset).
func OwnerOf(o cfv1.TokenOwner) cloudflare.Owner {
	if o == cfv1.TokenOwnerAccount {
		return cloudflare.OwnerAccount
	}
	return cloudflare.OwnerUser
}

// InventoryKey is shared by every Issuer that mints through the same credential, owner and account, since
// they see the same list of tokens at Cloudflare: the factory's own key for the client (cloudflare.ConfigKey).
func (i *Issuer) InventoryKey() string { return cloudflare.ConfigKey(i.Config) }

// Ready reports the issuer's Ready condition as its controller last set it for its current generation.
func (i *Issuer) Ready() (bool, string) {
	c := meta.FindStatusCondition(i.Status.Conditions, cfv1.ConditionReady)
	if c == nil || c.ObservedGeneration != i.Obj.GetGeneration() {
		return false, "its credential has not been verified yet"
	}
	return c.Status == metav1.ConditionTrue, c.Message
}

// Loader reads issuers and their parent credentials. Credentials are read with an uncached reader:
// parent Secrets are not in the operator's cache, which holds only Secrets the operator writes.
type Loader struct {
	Client    client.Client
	APIReader client.Reader
	// OperatorNamespace is the only namespace ClusterTokenIssuer credentials are read from.
	OperatorNamespace string
	// BaseURL of Cloudflare's API.
	BaseURL string
	// Factory makes the clients (connect).
	Factory cloudflare.Factory
}

// Load reads the Issuer a CloudflareToken refers to.
func (l *Loader) Load(ctx context.Context, ref cfv1.IssuerRef, namespace string) (*Issuer, error) {
	switch ref.Kind {
	case cfv1.KindTokenIssuer:
		obj := &cfv1.TokenIssuer{}
		if err := l.Client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, obj); err != nil {
			return nil, failure.NotFoundAsRefusal(err, "IssuerNotFound",
				"spec.issuerRef: TokenIssuer %q not found in namespace %q (a TokenIssuer serves only its own namespace)", ref.Name, namespace)
		}
		return FromTokenIssuer(obj), nil
	case cfv1.KindClusterTokenIssuer:
		obj := &cfv1.ClusterTokenIssuer{}
		if err := l.Client.Get(ctx, types.NamespacedName{Name: ref.Name}, obj); err != nil {
			return nil, failure.NotFoundAsRefusal(err, "IssuerNotFound", "spec.issuerRef: ClusterTokenIssuer %q not found", ref.Name)
		}
		return FromClusterTokenIssuer(obj), nil
	}
	return nil, failure.Refuse("InvalidIssuerRef", "spec.issuerRef.kind %q is neither TokenIssuer nor ClusterTokenIssuer", ref.Kind)
}

// FromTokenIssuer wraps a TokenIssuer.
func FromTokenIssuer(obj *cfv1.TokenIssuer) *Issuer {
	return &Issuer{Kind: cfv1.KindTokenIssuer, Name: obj.Name, Namespace: obj.Namespace, Obj: obj, Spec: &obj.Spec,
		Status: &obj.Status, AccountID: obj.Spec.AccountID}
}

// FromClusterTokenIssuer wraps a ClusterTokenIssuer.
func FromClusterTokenIssuer(obj *cfv1.ClusterTokenIssuer) *Issuer {
	return &Issuer{Kind: cfv1.KindClusterTokenIssuer, Name: obj.Name, Obj: obj, Spec: &obj.Spec.IssuerSpec,
		Status: &obj.Status, NamespaceSelector: obj.Spec.NamespaceSelector, AccountID: obj.Spec.AccountID}
}

// LoadCredential reads the parent credential into iss.Config. A TokenIssuer reads only from its own
// namespace and a ClusterTokenIssuer only from the operator's, so that no tenant can point the operator at
// another tenant's Secret.
func (l *Loader) LoadCredential(ctx context.Context, iss *Issuer) error {
	ref, field, defaultKey := iss.Spec.APITokenSecretRef, "spec.apiTokenSecretRef", cfv1.DefaultSecretKey
	if ref == nil {
		ref, field, defaultKey = iss.Spec.APIKeySecretRef, "spec.apiKeySecretRef", cfv1.DefaultAPIKeySecretKey
	}
	if ref == nil {
		return failure.Refuse("InvalidCredentialRef", "one of spec.apiTokenSecretRef or spec.apiKeySecretRef must be set")
	}
	allowed := iss.Namespace
	if allowed == "" {
		allowed = l.OperatorNamespace
	}
	ns := ref.Namespace
	if ns == "" {
		ns = allowed
	}
	if ns != allowed {
		return failure.Refuse("CredentialNamespaceNotAllowed", "%s.namespace %q: a %s reads its credential only from namespace %q",
			field, ns, iss.Kind, allowed)
	}
	key := ref.Key
	if key == "" {
		key = defaultKey
	}
	sec := &corev1.Secret{}
	if err := l.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, sec); err != nil {
		return failure.NotFoundAsRefusal(err, "CredentialNotFound", "%s: Secret %s/%s not found", field, ns, ref.Name)
	}
	raw, ok := sec.Data[key]
	if !ok || len(strings.TrimSpace(string(raw))) == 0 {
		return failure.Refuse("CredentialKeyMissing", "%s: Secret %s/%s has no key %q (or it is empty)", field, ns, ref.Name, key)
	}
	value := cloudflare.NewSecret(strings.TrimSpace(string(raw)))
	cred := cloudflare.Credential{APIToken: value}
	if iss.Spec.APIKeySecretRef != nil {
		cred = cloudflare.Credential{APIKey: value, Email: iss.Spec.Email}
	}
	iss.Config = cloudflare.Config{BaseURL: l.BaseURL, Credential: cred, AccountID: iss.Spec.AccountID,
		Owner: OwnerOf(iss.Spec.TokenOwner)}
	return nil
}

// List reads every ClusterTokenIssuer and the TokenIssuers that opts select (all, or one namespace's).
func (l *Loader) List(ctx context.Context, opts ...client.ListOption) ([]*Issuer, error) {
	var all []*Issuer
	cis := &cfv1.ClusterTokenIssuerList{}
	if err := l.Client.List(ctx, cis); err != nil {
		return nil, fmt.Errorf("listing ClusterTokenIssuers: %w", err)
	}
	for i := range cis.Items {
		all = append(all, FromClusterTokenIssuer(&cis.Items[i]))
	}
	tis := &cfv1.TokenIssuerList{}
	if err := l.Client.List(ctx, tis, opts...); err != nil {
		return all, fmt.Errorf("listing TokenIssuers: %w", err)
	}
	for i := range tis.Items {
		all = append(all, FromTokenIssuer(&tis.Items[i]))
	}
	return all, nil
}

// Quota is Cloudflare's limit on tokens for the issuer's token owner.
func (i *Issuer) Quota() int { return cloudflare.QuotaOf(OwnerOf(i.Spec.TokenOwner)) }
