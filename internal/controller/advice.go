package controller

import (
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// credentialAdvice turns a Cloudflare failure into a message that says what to do about it.
func credentialAdvice(err error) string {
	msg := err.Error()
	switch cloudflare.ClassOf(err) {
	case cloudflare.ClassIPRestricted:
		return msg + ": the parent token's IP filter excludes this cluster's egress address; add it to the token's Client IP Address Filtering"
	case cloudflare.ClassAuthentication:
		return msg + ": the parent token is unknown, revoked or expired; create a new one and update the credential Secret"
	case cloudflare.ClassPermission:
		return msg + ": the parent credential lacks a permission; it needs API Tokens Write (user-owned) or Account API Tokens Write (account-owned), and Zone Read on the zones"
	case cloudflare.ClassUnknownKey:
		return msg + ": the global API key or e-mail is wrong; check the key Secret and spec.email"
	case cloudflare.ClassRateLimited:
		return msg + ": Cloudflare rate-limits this credential; the operator retries after the wait it was given"
	}
	return msg
}
