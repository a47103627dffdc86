package controller

import (
	"context"
	"fmt"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// connection is a client for one token owner at Cloudflare, with the inventory key of that owner's token
// list and the issuer it was reached through (named in metrics and messages).
type connection struct {
	cl     cloudflare.Client
	key    string // inventory key (cloudflare.ConfigKey)
	issuer string // issuer key (IssuerKey)
}

// revoke deletes a token at Cloudflare and forgets it in the inventory; the observer counts the revocation
// by why, or the failure. Every revocation the operator makes goes through here.
func (c connection) revoke(ctx context.Context, inv *Inventory, obs Observer, id, why string) error {
	if err := c.cl.DeleteToken(ctx, id); err != nil {
		obs.RevocationFailed(c.issuer)
		return fmt.Errorf("revoking token %s through %s: %w", id, c.issuer, err)
	}
	inv.Forget(c.key, id)
	obs.Revoked(c.issuer, why)
	return nil
}

// connect reads the issuer's parent credential and returns the client for it: the one way from an issuer
// to Cloudflare.
func (l *IssuerLoader) connect(ctx context.Context, iss *issuer) (connection, error) {
	if err := l.loadCredential(ctx, iss); err != nil {
		return connection{}, err
	}
	return l.connectAs(iss, iss.config)
}

// connectAs returns the client for cfg (the issuer's credential, or the one that minted a recorded token).
func (l *IssuerLoader) connectAs(iss *issuer, cfg cloudflare.Config) (connection, error) {
	cl, err := l.Factory.ClientFor(cfg)
	if err != nil {
		return connection{}, fmt.Errorf("cloudflare client for %s: %w", iss.key(), err)
	}
	return connection{cl: cl, key: cloudflare.ConfigKey(cfg), issuer: iss.key()}, nil
}
