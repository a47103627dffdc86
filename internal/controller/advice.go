package controller

import (
	"errors"
	"fmt"
	"strings"

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
		if strings.Contains(msg, "delete unused tokens") {
			return msg
		}
		return msg + ": Cloudflare allows 50 tokens per user and 500 per account; delete unused tokens " +
			"or use an issuer of another owner"
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

// missingPermission names the right the failed operation needs, as Cloudflare's dashboard names it.
func missingPermission(err error) string {
	var e *cloudflare.Error
	if !errors.As(err, &e) {
		return "a permission"
	}
	switch e.Op {
	case "create token", "list tokens", "get token", "delete token", "resolve permission groups":
		return `"API Tokens Write" (tokenOwner User) or "Account API Tokens Write" (tokenOwner Account), needed to ` + e.Op
	case "resolve zones":
		return `"Zone Read" on the zones the token names, needed to resolve them`
	case "verify credential":
		return `"User Details Read" (a global API key) or a verifiable token, needed to verify it`
	}
	return `a permission: it needs "API Tokens Write" (user-owned) or "Account API Tokens Write" (account-owned), ` +
		`and "Zone Read" on the zones`
}
