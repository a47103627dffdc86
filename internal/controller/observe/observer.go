// Package observe is what the controllers report for metrics: the Observer interface internal/metrics
// implements, and the reasons a token is minted.
package observe

import "time"

// Observer is told what the operator does, for metrics. The controllers call it; internal/metrics
// implements it with Prometheus. It never receives a token value.
type Observer interface {
	// TokenObserved reports a CloudflareToken's current token after a successful pass: when it was minted,
	// when it expires and when it is renewed.
	TokenObserved(namespace, name, issuer string, issuedAt, expiresAt, renewalTime time.Time)
	// TokenForgotten drops a CloudflareToken that is gone.
	TokenForgotten(namespace, name string)
	// Minted counts a mint; reason is a MintReason ("NoToken" for the first one).
	Minted(issuer string, reason MintReason)
	// Failed counts a failed pass by reason (a condition reason).
	Failed(issuer, reason string)
	// RevocationFailed counts a revocation that failed and will be retried.
	RevocationFailed(issuer string)
	// Revoked counts a revocation, by why: "rotation", "deletion", "unrecorded", "orphan".
	Revoked(issuer, why string)
	// IssuerQuota reports how many tokens an issuer's owner holds against its quota.
	IssuerQuota(issuer string, held, quota int)
	// CredentialExpiry reports when an issuer's verified parent credential expires; the zero time when it
	// does not.
	CredentialExpiry(issuer string, expiresAt time.Time)
}

// OrNop is o, or an Observer that drops everything when o is nil.
func OrNop(o Observer) Observer {
	if o == nil {
		return nopObserver{}
	}
	return o
}

// nopObserver is the Observer when none is configured.
type nopObserver struct{}

func (nopObserver) TokenObserved(string, string, string, time.Time, time.Time, time.Time) {}
func (nopObserver) TokenForgotten(string, string)                                         {}
func (nopObserver) Minted(string, MintReason)                                             {}
func (nopObserver) Failed(string, string)                                                 {}
func (nopObserver) RevocationFailed(string)                                               {}
func (nopObserver) Revoked(string, string)                                                {}
func (nopObserver) IssuerQuota(string, int, int)                                          {}
func (nopObserver) CredentialExpiry(string, time.Time)                                    {}

// UsageObserver is what an Observer may also implement: a consumer still used a replaced token after the
// Secret switched to its replacement.
type UsageObserver interface {
	ConsumerStillUsesOldToken(namespace, name, issuer string)
}

// MintReason says why a new token is needed; "" means the current one stays.
type MintReason string

const (
	MintNone          MintReason = ""
	MintFirst         MintReason = "NoToken"
	MintScopeChanged  MintReason = "ScopeChanged"
	MintRotateRequest MintReason = "RotateRequested"
	MintRenewalDue    MintReason = "RenewalDue"
	MintTokenNotLive  MintReason = "TokenNotLive"
	MintSecretLost    MintReason = "SecretLost"
	MintExpired       MintReason = "Expired"
	// MintOwnerChanged: the issuer now mints for another owner or account than the one holding the token.
	MintOwnerChanged MintReason = "OwnerChanged"
)
