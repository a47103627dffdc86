package issuerclient

import (
	"context"
	"fmt"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/inventory"
)

// Connection is a client for one token owner at Cloudflare, with the inventory key of that owner's token
// list and the Issuer it was reached through (named in metrics and messages).
type Connection struct {
	Client cloudflare.Client
	Key    string // the inventory key (cloudflare.ConfigKey)
	Issuer string // the issuer's key (Key)
}

// RevocationObserver counts revocations (observe.Observer is one).
type RevocationObserver interface {
	RevocationFailed(issuer string)
	Revoked(issuer, why string)
}

// Revoke deletes a token at Cloudflare and forgets it in the inventory; the observer counts the revocation
// by why, or the failure. Every revocation the operator makes goes through here.
func (c Connection) Revoke(ctx context.Context, inv *inventory.Inventory, obs RevocationObserver, id, why string) error {
	if err := c.Client.DeleteToken(ctx, id); err != nil {
		obs.RevocationFailed(c.Issuer)
		return fmt.Errorf("revoking token %s through %s: %w", id, c.Issuer, err)
	}
	inv.Forget(c.Key, id)
	obs.Revoked(c.Issuer, why)
	return nil
}

// Connect reads the issuer's parent credential and returns the client for it: the one way from an issuer
// to Cloudflare.
func (l *Loader) Connect(ctx context.Context, iss *Issuer) (Connection, error) {
	if err := l.LoadCredential(ctx, iss); err != nil {
		return Connection{}, err
	}
	return l.ConnectAs(iss, iss.Config)
}

// ConnectAs returns the client for cfg (the issuer's credential, or the one that minted a recorded token).
func (l *Loader) ConnectAs(iss *Issuer, cfg cloudflare.Config) (Connection, error) {
	cl, err := l.Factory.ClientFor(cfg)
	if err != nil {
		return Connection{}, fmt.Errorf("cloudflare client for %s: %w", iss.Key(), err)
	}
	return Connection{Client: cl, Key: cloudflare.ConfigKey(cfg), Issuer: iss.Key()}, nil
}
