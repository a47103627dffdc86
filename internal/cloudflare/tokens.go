package cloudflare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	sdkaccounts "github.com/cloudflare/cloudflare-go/v7/accounts"
	"github.com/cloudflare/cloudflare-go/v7/shared"
	sdkuser "github.com/cloudflare/cloudflare-go/v7/user"
)

// listPageSize is Cloudflare's largest token page: a sweep over n tokens costs ceil(n/50) requests.
const listPageSize = 50

// maxListPages stops a list that never ends (a misbehaving server); 1000 pages hold 50,000 tokens, far above
// the 500-token account quota.
const maxListPages = 1000

// MaxTokenName is Cloudflare's limit on token names.
const MaxTokenName = 120

// CreateToken mints a token. If Cloudflare created the token but its answer carries no value, the token is
// returned with the error so the caller can revoke it.
func (c *sdkClient) CreateToken(ctx context.Context, spec TokenSpec) (Token, Secret, error) {
	const op = OpCreateToken
	if err := ctxErr(ctx, op); err != nil {
		return Token{}, Secret{}, err
	}
	if err := checkSpec(spec); err != nil {
		return Token{}, Secret{}, &Error{Op: op, Class: ClassInvalid, Message: err.Error()}
	}
	policies, err := toSDKPolicies(spec.Policies)
	if err != nil {
		return Token{}, Secret{}, &Error{Op: op, Class: ClassInvalid, Message: err.Error()}
	}
	if spec.RequestIP, err = normalizeRequestIP(spec.RequestIP); err != nil {
		return Token{}, Secret{}, &Error{Op: op, Class: ClassInvalid, Message: err.Error()}
	}
	var tok Token
	var value string
	if c.cfg.Owner == OwnerAccount {
		res, err := c.accounts.Tokens.New(ctx, accountNewParams(c.cfg.AccountID, spec, policies))
		if err != nil {
			return Token{}, Secret{}, c.suspectQuota(ctx, c.fail(ctx, op, err))
		}
		tok = mapToken(res.ID, res.Name, string(res.Status), res.IssuedOn, res.NotBefore, res.ExpiresOn,
			res.Policies, res.Condition.RequestIP.In, res.Condition.RequestIP.NotIn)
		value = res.Value
	} else {
		res, err := c.users.Tokens.New(ctx, userNewParams(spec, policies))
		if err != nil {
			return Token{}, Secret{}, c.suspectQuota(ctx, c.fail(ctx, op, err))
		}
		tok = mapToken(res.ID, res.Name, string(res.Status), res.IssuedOn, res.NotBefore, res.ExpiresOn,
			res.Policies, res.Condition.RequestIP.In, res.Condition.RequestIP.NotIn)
		value = res.Value
	}
	if value == "" {
		return tok, Secret{}, &Error{Op: op, Class: ClassTransient,
			Message: fmt.Sprintf("Cloudflare created token %s but returned no value; revoke it and mint again", tok.ID)}
	}
	return tok, NewSecret(value), nil
}

func checkSpec(spec TokenSpec) error {
	switch {
	case spec.Name == "":
		return errors.New("token name is empty")
	case len(spec.Name) > MaxTokenName:
		return fmt.Errorf("token name is %d characters long; Cloudflare allows %d", len(spec.Name), MaxTokenName)
	case spec.NotBefore != nil && spec.ExpiresOn != nil && !spec.ExpiresOn.After(*spec.NotBefore):
		return errors.New("expires_on must be after not_before")
	}
	return nil
}

func userNewParams(spec TokenSpec, policies []shared.TokenPolicyParam) sdkuser.TokenNewParams {
	var p sdkuser.TokenNewParams
	p.Name.Value, p.Name.Present = spec.Name, true
	p.Policies.Value, p.Policies.Present = policies, true
	if spec.NotBefore != nil {
		p.NotBefore.Value, p.NotBefore.Present = apiTime(*spec.NotBefore), true
	}
	if spec.ExpiresOn != nil {
		p.ExpiresOn.Value, p.ExpiresOn.Present = apiTime(*spec.ExpiresOn), true
	}
	if len(spec.RequestIP.In) > 0 || len(spec.RequestIP.NotIn) > 0 {
		var ip sdkuser.TokenNewParamsConditionRequestIP
		if len(spec.RequestIP.In) > 0 {
			ip.In.Value, ip.In.Present = spec.RequestIP.In, true
		}
		if len(spec.RequestIP.NotIn) > 0 {
			ip.NotIn.Value, ip.NotIn.Present = spec.RequestIP.NotIn, true
		}
		var cond sdkuser.TokenNewParamsCondition
		cond.RequestIP.Value, cond.RequestIP.Present = ip, true
		p.Condition.Value, p.Condition.Present = cond, true
	}
	return p
}

func accountNewParams(accountID string, spec TokenSpec, policies []shared.TokenPolicyParam) sdkaccounts.TokenNewParams {
	var p sdkaccounts.TokenNewParams
	p.AccountID.Value, p.AccountID.Present = accountID, true
	p.Name.Value, p.Name.Present = spec.Name, true
	p.Policies.Value, p.Policies.Present = policies, true
	if spec.NotBefore != nil {
		p.NotBefore.Value, p.NotBefore.Present = apiTime(*spec.NotBefore), true
	}
	if spec.ExpiresOn != nil {
		p.ExpiresOn.Value, p.ExpiresOn.Present = apiTime(*spec.ExpiresOn), true
	}
	if len(spec.RequestIP.In) > 0 || len(spec.RequestIP.NotIn) > 0 {
		var ip sdkaccounts.TokenNewParamsConditionRequestIP
		if len(spec.RequestIP.In) > 0 {
			ip.In.Value, ip.In.Present = spec.RequestIP.In, true
		}
		if len(spec.RequestIP.NotIn) > 0 {
			ip.NotIn.Value, ip.NotIn.Present = spec.RequestIP.NotIn, true
		}
		var cond sdkaccounts.TokenNewParamsCondition
		cond.RequestIP.Value, cond.RequestIP.Present = ip, true
		p.Condition.Value, p.Condition.Present = cond, true
	}
	return p
}

// mapToken builds our Token from the fields every SDK token type shares.
func mapToken(id, name, status string, issued, notBefore, expires time.Time, policies []shared.TokenPolicy, in, notIn []string) Token {
	return Token{
		ID: id, Name: name, Status: status, IssuedOn: issued.UTC(),
		NotBefore: optTime(notBefore), ExpiresOn: optTime(expires),
		Policies:  fromSDKPolicies(policies),
		RequestIP: RequestIP{In: cloneStrings(in), NotIn: cloneStrings(notIn)},
	}
}

func fromShared(t *shared.Token) Token {
	tok := mapToken(t.ID, t.Name, string(t.Status), t.IssuedOn, t.NotBefore, t.ExpiresOn, t.Policies,
		t.Condition.RequestIP.In, t.Condition.RequestIP.NotIn)
	tok.LastUsedOn = optTime(t.LastUsedOn)
	return tok
}

func cloneStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

// ListTokens returns every token of the owner (expired ones included, so sweeps can revoke them). It pages
// by hand at 50 per page and stops at the last page: ceil(n/50) requests for n tokens (1 when there are
// none). The SDK's auto-pager would ask for one more, empty, page every time, and would run every page after
// the first without the caller's context.
func (c *sdkClient) ListTokens(ctx context.Context) ([]Token, error) {
	const op = OpListTokens
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	var out []Token
	for page := 1; page <= maxListPages; page++ {
		tokens, resultInfo, err := c.listPage(ctx, page)
		if err != nil {
			return nil, c.fail(ctx, op, err)
		}
		for i := range tokens {
			out = append(out, fromShared(&tokens[i]))
		}
		if len(tokens) < listPageSize || lastPage(resultInfo, page) {
			return out, nil
		}
	}
	return nil, &Error{Op: op, Class: ClassTransient, Message: fmt.Sprintf("more than %d pages of tokens", maxListPages)}
}

func (c *sdkClient) listPage(ctx context.Context, page int) ([]shared.Token, string, error) {
	if c.cfg.Owner == OwnerAccount {
		var p sdkaccounts.TokenListParams
		p.AccountID.Value, p.AccountID.Present = c.cfg.AccountID, true
		p.Page.Value, p.Page.Present = float64(page), true
		p.PerPage.Value, p.PerPage.Present = listPageSize, true
		p.IncludeExpired.Value, p.IncludeExpired.Present = true, true
		res, err := c.accounts.Tokens.List(ctx, p)
		if err != nil {
			return nil, "", err
		}
		return res.Result, res.JSON.ResultInfo.Raw(), nil
	}
	var p sdkuser.TokenListParams
	p.Page.Value, p.Page.Present = float64(page), true
	p.PerPage.Value, p.PerPage.Present = listPageSize, true
	p.IncludeExpired.Value, p.IncludeExpired.Present = true, true
	res, err := c.users.Tokens.List(ctx, p)
	if err != nil {
		return nil, "", err
	}
	return res.Result, res.JSON.ResultInfo.Raw(), nil
}

// lastPage reads result_info.total_pages (which the SDK's type does not carry) when Cloudflare sends it.
func lastPage(resultInfo string, page int) bool {
	var ri struct {
		TotalPages int `json:"total_pages"`
	}
	if resultInfo == "" || json.Unmarshal([]byte(resultInfo), &ri) != nil || ri.TotalPages <= 0 {
		return false
	}
	return page >= ri.TotalPages
}

// GetToken reads one token; a missing one is ClassNotFound.
func (c *sdkClient) GetToken(ctx context.Context, id string) (Token, error) {
	const op = OpGetToken
	if err := checkTokenID(op, id); err != nil {
		return Token{}, err
	}
	if err := ctxErr(ctx, op); err != nil {
		return Token{}, err
	}
	var t *shared.Token
	var err error
	if c.cfg.Owner == OwnerAccount {
		var p sdkaccounts.TokenGetParams
		p.AccountID.Value, p.AccountID.Present = c.cfg.AccountID, true
		t, err = c.accounts.Tokens.Get(ctx, id, p)
	} else {
		t, err = c.users.Tokens.Get(ctx, id)
	}
	if err != nil {
		return Token{}, withSubject(c.fail(ctx, op, err), id)
	}
	return fromShared(t), nil
}

// DeleteToken revokes a token; a token that is already gone (404) is success, so revocation can be retried
// blindly after a crash or a lost answer.
func (c *sdkClient) DeleteToken(ctx context.Context, id string) error {
	const op = OpDeleteToken
	if err := checkTokenID(op, id); err != nil {
		return err
	}
	if err := ctxErr(ctx, op); err != nil {
		return err
	}
	var err error
	if c.cfg.Owner == OwnerAccount {
		var p sdkaccounts.TokenDeleteParams
		p.AccountID.Value, p.AccountID.Present = c.cfg.AccountID, true
		_, err = c.accounts.Tokens.Delete(ctx, id, p)
	} else {
		_, err = c.users.Tokens.Delete(ctx, id)
	}
	if err = withSubject(c.fail(ctx, op, err), id); ClassOf(err) == ClassNotFound {
		return nil
	}
	return err
}

// checkTokenID refuses ids that would change the request path (the SDK pastes ids into it unescaped).
func checkTokenID(op Op, id string) error {
	if id == "" {
		return &Error{Op: op, Class: ClassInvalid, Message: "empty token id"}
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch == '-' || ch == '_') {
			return &Error{Op: op, Class: ClassInvalid, Message: fmt.Sprintf("malformed token id %q", id)}
		}
	}
	return nil
}
