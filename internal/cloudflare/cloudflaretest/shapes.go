package cloudflaretest

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Where Cloudflare's answers are known to vary (the second audit in cloudflare-api.md), the fake can give
// either shape, so that the operator is tested against both.

// NotFoundShape is how a missing token is answered.
type NotFoundShape int32

const (
	// NotFoundInvalidToken is 404 with code 1000 "Invalid API Token", as in the fixtures of Cloudflare's
	// Terraform provider (the default).
	NotFoundInvalidToken NotFoundShape = iota
	// NotFoundRoute is 404 with code 7003 "Could not route to …".
	NotFoundRoute
)

// DeadCredentialShape is how a request authenticated by an unknown, revoked, expired or deactivated token is
// answered.
type DeadCredentialShape int32

const (
	// DeadCredential401 is 401 with code 1000 "Invalid API Token" on every endpoint (the default).
	DeadCredential401 DeadCredentialShape = iota
	// DeadCredential403 is 403 with code 10000 "Authentication error" on every endpoint but verify, which
	// still answers 401/1000 (reported for non-verify calls).
	DeadCredential403
)

// DefaultRecentlyExpired is how long after expiring a token is still listed with include_expired=true;
// Cloudflare says only "recently expired", so the fake picks a day.
const DefaultRecentlyExpired = 24 * time.Hour

type shapes struct {
	notFound atomic.Int32
	dead     atomic.Int32
	quota    atomic.Pointer[apiError]
}

// SetQuotaAnswer replaces the answer to a create over the quota (HTTP 400 with code 1005, which the fake
// chose: Cloudflare documents none) by code and message, so that a client can be tested against a code
// it cannot know.
func (s *Server) SetQuotaAnswer(code int, message string) {
	s.shapes.quota.Store(&apiError{Code: code, Message: message})
}

// quotaExceeded answers a create over the quota.
func (s *Server) quotaExceeded(w http.ResponseWriter, own owner, quota int) {
	if e := s.shapes.quota.Load(); e != nil {
		writeErr(w, http.StatusBadRequest, *e)
		return
	}
	fail(w, http.StatusBadRequest, codeQuotaExceeded,
		"Token quota exceeded: this %s already holds the maximum of %d API tokens; delete unused tokens first", lower(own.name()), quota)
}

// WithTokenNotFound sets how a missing token is answered.
func WithTokenNotFound(shape NotFoundShape) Option {
	return func(c *config) { c.notFound = shape }
}

// WithDeadCredential sets how a dead credential is answered.
func WithDeadCredential(shape DeadCredentialShape) Option {
	return func(c *config) { c.dead = shape }
}

// WithScannableGlobalKey seeds a new-style global API key ("cfk_…") instead of 37 hex digits.
func WithScannableGlobalKey() Option { return func(c *config) { c.scannableKey = true } }

// WithRecentlyExpired sets how long an expired token is still listed with include_expired=true.
func WithRecentlyExpired(d time.Duration) Option { return func(c *config) { c.recentlyExpired = d } }

// SetTokenNotFound switches the shape of a missing token's answer at run time.
func (s *Server) SetTokenNotFound(shape NotFoundShape) { s.shapes.notFound.Store(int32(shape)) }

// SetDeadCredential switches the shape of a dead credential's answer at run time.
func (s *Server) SetDeadCredential(shape DeadCredentialShape) { s.shapes.dead.Store(int32(shape)) }

// tokenNotFound answers a missing token in the configured shape.
func (s *Server) tokenNotFound(w http.ResponseWriter, r *http.Request) {
	if NotFoundShape(s.shapes.notFound.Load()) == NotFoundRoute {
		fail(w, http.StatusNotFound, codeRouteNotFound, "Could not route to %s, perhaps your object identifier is invalid?",
			strings.TrimPrefix(r.URL.Path, BasePath))
		return
	}
	fail(w, http.StatusNotFound, codeInvalidToken, msgInvalidToken)
}

// deadCredential is the answer to a dead credential on route.
func (s *Server) deadCredential(route string) *authFailure {
	if DeadCredentialShape(s.shapes.dead.Load()) == DeadCredential403 && !strings.HasSuffix(route, "/verify") {
		return &authFailure{http.StatusForbidden, apiError{Code: codeAuthError, Message: msgAuthError}}
	}
	return invalidToken
}
