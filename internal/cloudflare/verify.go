package cloudflare

import (
	"context"
	"fmt"

	sdkaccounts "github.com/cloudflare/cloudflare-go/v7/accounts"
)

// Verify checks the parent credential: an API token on the verify endpoint of its owner (Cloudflare's
// /user/tokens/verify answers "Invalid API Token" for account-owned tokens), a global API key with GET /user.
// A token that Cloudflare reports but not as active comes back with its info and a ClassAuthentication error.
func (c *sdkClient) Verify(ctx context.Context) (CredentialInfo, error) {
	const op = OpVerify
	if err := ctxErr(ctx, op); err != nil {
		return CredentialInfo{}, err
	}
	if c.cfg.Credential.APIToken.IsZero() {
		res, err := c.users.Get(ctx)
		if err != nil {
			return CredentialInfo{}, c.classify(op, err)
		}
		if res.Suspended {
			return CredentialInfo{Status: "suspended"}, &Error{Op: op, Class: ClassAuthentication,
				Message: "the user of this API key is suspended"}
		}
		return CredentialInfo{Status: StatusActive}, nil
	}

	var info CredentialInfo
	if c.cfg.Owner == OwnerAccount {
		var p sdkaccounts.TokenVerifyParams
		p.AccountID.Value, p.AccountID.Present = c.cfg.AccountID, true
		res, err := c.accounts.Tokens.Verify(ctx, p)
		if err != nil {
			return CredentialInfo{}, c.classify(op, err)
		}
		info = CredentialInfo{ID: res.ID, Status: string(res.Status), ExpiresOn: optTime(res.ExpiresOn)}
	} else {
		res, err := c.users.Tokens.Verify(ctx)
		if err != nil {
			return CredentialInfo{}, c.classify(op, err)
		}
		info = CredentialInfo{ID: res.ID, Status: string(res.Status), ExpiresOn: optTime(res.ExpiresOn)}
	}
	if info.Status != StatusActive {
		return info, &Error{Op: op, Class: ClassAuthentication,
			Message: fmt.Sprintf("the parent token %s is %s", info.ID, info.Status)}
	}
	return info, nil
}
