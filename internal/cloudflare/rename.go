package cloudflare

import (
	"context"
	"fmt"

	sdkaccounts "github.com/cloudflare/cloudflare-go/v7/accounts"
	"github.com/cloudflare/cloudflare-go/v7/shared"
	sdkuser "github.com/cloudflare/cloudflare-go/v7/user"
)

// RenameToken gives a token a new name and changes nothing else. Cloudflare's update is a full replace, so
// the token is read first and written back whole (policies without their ids, which an update may not
// reuse; status, validity and IP condition as they are).
func (c *sdkClient) RenameToken(ctx context.Context, id, name string) error {
	const op = OpRenameToken
	if err := checkTokenID(op, id); err != nil {
		return err
	}
	if err := checkSpec(TokenSpec{Name: name}); err != nil {
		return &Error{Op: op, Class: ClassInvalid, Message: err.Error()}
	}
	cur, err := c.GetToken(ctx, id)
	if err != nil {
		return err
	}
	if cur.Name == name {
		return nil
	}
	body, err := tokenParam(cur, name)
	if err != nil {
		return &Error{Op: op, Class: ClassInvalid, Message: fmt.Sprintf("token %s: %v", id, err)}
	}
	if c.cfg.Owner == OwnerAccount {
		var p sdkaccounts.TokenUpdateParams
		p.AccountID.Value, p.AccountID.Present = c.cfg.AccountID, true
		p.Token = body
		_, err = c.accounts.Tokens.Update(ctx, id, p)
	} else {
		_, err = c.users.Tokens.Update(ctx, id, sdkuser.TokenUpdateParams{Token: body})
	}
	return withSubject(c.classify(op, err), id)
}

// tokenParam is the full-replace body that keeps t as it is but for its name.
func tokenParam(t Token, name string) (shared.TokenParam, error) {
	var p shared.TokenParam
	policies, err := toSDKPolicies(t.Policies)
	if err != nil {
		return p, err
	}
	p.Name.Value, p.Name.Present = name, true
	p.Policies.Value, p.Policies.Present = policies, true
	if t.Status == StatusActive || t.Status == StatusDisabled {
		p.Status.Value, p.Status.Present = shared.TokenStatus(t.Status), true
	}
	if t.NotBefore != nil {
		p.NotBefore.Value, p.NotBefore.Present = apiTime(*t.NotBefore), true
	}
	if t.ExpiresOn != nil {
		p.ExpiresOn.Value, p.ExpiresOn.Present = apiTime(*t.ExpiresOn), true
	}
	if len(t.RequestIP.In) > 0 || len(t.RequestIP.NotIn) > 0 {
		var ip shared.TokenConditionRequestIPParam
		if len(t.RequestIP.In) > 0 {
			ip.In.Value, ip.In.Present = t.RequestIP.In, true
		}
		if len(t.RequestIP.NotIn) > 0 {
			ip.NotIn.Value, ip.NotIn.Present = t.RequestIP.NotIn, true
		}
		var cond shared.TokenConditionParam
		cond.RequestIP.Value, cond.RequestIP.Present = ip, true
		p.Condition.Value, p.Condition.Present = cond, true
	}
	return p, nil
}
