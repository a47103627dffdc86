package cloudflaretokens

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/failure"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/tokenname"
)

// Every token is revoked through the issuer, owner and credential that minted it, which status records
// beside it (mintedBy): a resource moved to another issuer, or an issuer whose credential or tokenOwner
// changed, must not send the delete to an owner that never had the token (Cloudflare answers 404, which
// would read as "revoked" while the token stays valid).

// originOf is the record of a token minted now through iss.
func originOf(iss *issuerclient.Issuer) *cfv1.TokenOrigin {
	owner := cfv1.TokenOwnerUser
	if iss.Config.Owner == cloudflare.OwnerAccount {
		owner = cfv1.TokenOwnerAccount
	}
	return &cfv1.TokenOrigin{IssuerKind: iss.Kind, IssuerName: iss.Name, Owner: owner,
		AccountID: iss.Config.AccountID, Credential: cloudflare.CredentialHash(iss.Config.Credential)}
}

// originClient is how a recorded token is reached: a client for the owner that holds it, and whether its
// credential is the very one that minted the token (only then does "not found" prove it gone).
type originClient struct {
	issuerclient.Connection
	exact bool
}

// clientForOrigin finds the client for a token's origin; nil (and no error) when its issuer no longer
// exists, so that nothing can revoke the token. A token recorded before origins were (nil) belongs to the
// issuer the resource names.
func (r *Reconciler) clientForOrigin(ctx context.Context, p *tokenPass, o *cfv1.TokenOrigin) (*originClient, error) {
	ref := p.tok.Spec.IssuerRef
	if o != nil {
		ref = cfv1.IssuerRef{Kind: o.IssuerKind, Name: o.IssuerName}
	}
	cacheKey := fmt.Sprintf("%s/%s", ref.Kind, ref.Name)
	if o != nil {
		cacheKey += "/" + string(o.Owner) + "/" + o.AccountID + "/" + o.Credential
	}
	if oc, ok := p.origins[cacheKey]; ok {
		return oc, nil
	}
	iss, err := r.Issuers.Load(ctx, ref, p.tok.Namespace)
	if _, refused := failure.AsRefusal(err); refused || apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := r.Issuers.LoadCredential(ctx, iss); err != nil {
		return nil, fmt.Errorf("reading the credential of %s to revoke its tokens: %w", iss.Key(), err)
	}
	cfg := iss.Config
	exact := true
	if o != nil {
		if cloudflare.CredentialHash(cfg.Credential) != o.Credential {
			// The issuer holds another credential now: the minting one may still be held by another issuer.
			if held, ok := r.credentialHeldElsewhere(ctx, p.tok.Namespace, o.Credential); ok {
				cfg.Credential = held
			}
		}
		cfg.Owner, cfg.AccountID = issuerclient.OwnerOf(o.Owner), o.AccountID
		exact = cloudflare.CredentialHash(cfg.Credential) == o.Credential
	}
	conn, err := r.Issuers.ConnectAs(iss, cfg)
	if err != nil {
		return nil, err
	}
	oc := &originClient{Connection: conn, exact: exact}
	if p.origins == nil {
		p.origins = map[string]*originClient{}
	}
	p.origins[cacheKey] = oc
	return oc, nil
}

// revokeOutcome is what became of a recorded token that was to be revoked.
type revokeOutcome int

const (
	// revoked: deleted at Cloudflare (or proven gone by the credential that minted it).
	revoked revokeOutcome = iota
	// stranded: nothing the operator holds can revoke it (its issuer is gone, or the issuer's credential
	// no longer sees it); it stays recorded and reported until it expires.
	stranded
	// notOurs: Cloudflare names it as another resource's token: a status edited by hand. Never deleted.
	notOurs
)

// revokeRecorded revokes one token status records, through its origin. why labels the metric.
func (r *Reconciler) revokeRecorded(ctx context.Context, p *tokenPass, id string, o *cfv1.TokenOrigin,
	why string) (revokeOutcome, error) {
	oc, err := r.clientForOrigin(ctx, p, o)
	if err != nil || oc == nil {
		return stranded, err
	}
	// A credential other than the minting one must see the token listed before its delete means anything.
	t, listed, err := r.Inventory.Lookup(ctx, oc.Key, oc.Client, id, !oc.exact)
	if err != nil {
		r.observer().RevocationFailed(oc.Issuer)
		return stranded, fmt.Errorf("revoking token %s through %s: listing the owner's tokens first: %w", id, oc.Issuer, err)
	}
	if listed {
		if n, ok := tokenname.Parse(t.Name); !ok || n.UID != p.tok.UID {
			return notOurs, nil
		}
	} else if !oc.exact {
		return stranded, nil
	}
	if err := oc.Revoke(ctx, r.Inventory, r.observer(), id, why); err != nil {
		return stranded, err
	}
	return revoked, nil
}

// credentialHeldElsewhere finds the credential with the given digest among the issuers that can serve the
// namespace's resources (every ClusterTokenIssuer, the namespace's TokenIssuers): after an issuer's
// credential was replaced, the old one may still be held by another issuer, and it can revoke what it minted.
func (r *Reconciler) credentialHeldElsewhere(ctx context.Context, namespace, digest string) (cloudflare.Credential, bool) {
	// What can be listed is searched; a failed list only narrows the search.
	all, _ := r.Issuers.List(ctx, client.InNamespace(namespace))
	for _, iss := range all {
		if r.Issuers.LoadCredential(ctx, iss) == nil && cloudflare.CredentialHash(iss.Config.Credential) == digest {
			return iss.Config.Credential, true
		}
	}
	return cloudflare.Credential{}, false
}
