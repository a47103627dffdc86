package cloudflare

import (
	"errors"
	"fmt"
	"time"
)

// Class sorts Cloudflare failures by what the operator should do about them.
type Class string

const (
	// ClassAuthentication: the credential is unknown, revoked or expired (401; code 1000 on 400 or 403; a
	// 403 with code 10000 after which verifying the credential fails too).
	ClassAuthentication Class = "Authentication"
	// ClassPermission: the credential lacks a permission for the resource (code 10000, or 9109
	// "Unauthorized to access requested resource" on token creation).
	ClassPermission Class = "PermissionDenied"
	// ClassIPRestricted: the parent token's IP filter excludes this caller (code 9109 "Cannot use the
	// access token from location").
	ClassIPRestricted Class = "IPRestricted"
	// ClassUnknownKey: wrong global API key or e-mail (code 9103).
	ClassUnknownKey Class = "UnknownAPIKey"
	// ClassNotFound: the object does not exist (404), or a zone or permission name resolved to nothing.
	ClassNotFound Class = "NotFound"
	// ClassQuota: the owner holds as many tokens as Cloudflare allows (the fake's code 1005, a message about
	// the quota, or an unrecognised refusal of a create while the owner holds quota-1 tokens or more).
	ClassQuota Class = "QuotaExceeded"
	// ClassRateLimited: 429 (code 971); RetryAfter says when to come back.
	ClassRateLimited Class = "RateLimited"
	// ClassInvalid: Cloudflare refused the request itself (400); retrying the same request will not help.
	ClassInvalid Class = "InvalidRequest"
	// ClassTransient: 5xx, timeouts, transport errors.
	ClassTransient Class = "Transient"
)

// Op is what the operator was doing when a call failed; the failure policy and its advice switch on it.
type Op string

const (
	OpCreateToken             Op = "create token"
	OpListTokens              Op = "list tokens"
	OpGetToken                Op = "get token"
	OpDeleteToken             Op = "delete token"
	OpRenameToken             Op = "rename token"
	OpResolvePermissionGroups Op = "resolve permission groups"
	OpResolveZones            Op = "resolve zones"
	OpVerify                  Op = "verify credential"
	OpConfigure               Op = "configure Cloudflare client"
	// OpReserveToken is no request: the operator's own count of the owner's tokens against Cloudflare's
	// quota, before a create (its message already says what to do).
	OpReserveToken Op = "reserve a token"
)

// Error is a classified Cloudflare failure. Its message never contains a credential or token value.
type Error struct {
	Class Class
	// Op is what the operator was doing.
	Op Op
	// Subject is the token id the operation named, if any.
	Subject string
	// HTTPStatus is 0 for transport errors.
	HTTPStatus int
	// Codes are Cloudflare's error codes, first one first.
	Codes []int
	// Message is Cloudflare's first error message, or the transport error.
	Message string
	// RetryAfter is Cloudflare's (or the client-side budget's) wait, when known.
	RetryAfter time.Duration
	// Candidates, for ClassNotFound on a name, are the closest valid names.
	Candidates []string
	// Unrecognised is true when the operator does not know Cloudflare's code for this status: the class
	// comes from the HTTP status alone, and the message says so, so that a person can look the code up.
	Unrecognised bool

	// cause is kept only for context errors, so that errors.Is(err, context.Canceled) works; SDK errors are
	// never kept because their text embeds the request.
	cause error
}

// withSubject names the token id an operation's error is about.
func withSubject(err error, id string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	cp := *e
	cp.Subject = id
	return &cp
}

// Unwrap returns the context error behind a canceled or timed-out call, else nil.
func (e *Error) Unwrap() error { return e.cause }

func (e *Error) Error() string {
	s := string(e.Op)
	if e.Subject != "" {
		s += " " + e.Subject
	}
	s += ": " + string(e.Class)
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(" (HTTP %d", e.HTTPStatus)
		for _, c := range e.Codes {
			s += fmt.Sprintf(", code %d", c)
		}
		s += ")"
	}
	if e.Unrecognised {
		s += " [a Cloudflare error the operator does not recognise; see docs/troubleshooting.md]"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// ClassOf returns the class of err, or "" when err is not a classified Cloudflare error.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ""
}

// IsPermanent reports whether repeating the same call with the same inputs cannot succeed: the spec, the
// issuer or the credential has to change first.
func IsPermanent(err error) bool {
	switch ClassOf(err) {
	case ClassAuthentication, ClassPermission, ClassIPRestricted, ClassUnknownKey, ClassNotFound, ClassInvalid:
		return true
	}
	return false
}

// RetryAfterOf returns the wait Cloudflare or the budget asked for, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
