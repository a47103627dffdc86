package controller

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
