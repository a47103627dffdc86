package failure

import (
	"errors"
	"fmt"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// credentialAdvice turns a Cloudflare failure into a message that says what to do about it.
func credentialAdvice(err error) string {
	msg := err.Error()
	switch cloudflare.ClassOf(err) {
	case cloudflare.ClassIPRestricted:
		return msg + ": the parent token's IP filter excludes this cluster's egress address (the location Cloudflare names); " +
			"add it to the parent token's Client IP Address Filtering, or use a parent token without that filter"
	case cloudflare.ClassAuthentication:
		return msg + ": the parent token is unknown, revoked or expired; create a new one and update the credential Secret"
	case cloudflare.ClassPermission:
		return msg + ": the parent credential lacks " + missingPermission(err) + "; grant it to the parent token"
	case cloudflare.ClassUnknownKey:
		return msg + ": the global API key or e-mail is wrong; check the key Secret and spec.email"
	case cloudflare.ClassQuota:
		if opOf(err) == cloudflare.OpReserveToken {
			return msg // the operator's own count: its message names the issuer and what to do
		}
		return msg + fmt.Sprintf(": Cloudflare allows %d tokens per user and %d per account; delete unused tokens "+
			"or use an issuer of another owner", cloudflare.UserTokenQuota, cloudflare.AccountTokenQuota)
	case cloudflare.ClassRateLimited:
		wait := ""
		if d := cloudflare.RetryAfterOf(err); d > 0 {
			wait = fmt.Sprintf(" (Cloudflare asked to wait %s)", d)
		}
		return msg + ": Cloudflare rate-limits this credential" + wait + "; the operator retries after the wait, " +
			"and other clients sharing the credential (dashboard, scripts) count against the same budget"
	}
	return msg
}

// opOf is the operation a Cloudflare error happened in ("" for other errors).
func opOf(err error) cloudflare.Op {
	var e *cloudflare.Error
	if errors.As(err, &e) {
		return e.Op
	}
	return ""
}

// missingPermission names the right the failed operation needs, as Cloudflare's dashboard names it.
func missingPermission(err error) string {
	op := opOf(err)
	switch op {
	case "":
		return "a permission"
	case cloudflare.OpCreateToken, cloudflare.OpListTokens, cloudflare.OpGetToken, cloudflare.OpDeleteToken,
		cloudflare.OpRenameToken, cloudflare.OpResolvePermissionGroups:
		return `"API Tokens Write" (tokenOwner User) or "Account API Tokens Write" (tokenOwner Account), needed to ` + string(op)
	case cloudflare.OpResolveZones:
		return `"Zone Read" on the zones the token names, needed to resolve them`
	case cloudflare.OpVerify:
		return `"User Details Read" (a global API key) or a verifiable token, needed to verify it`
	}
	return `a permission: it needs "API Tokens Write" (user-owned) or "Account API Tokens Write" (account-owned), ` +
		`and "Zone Read" on the zones`
}
