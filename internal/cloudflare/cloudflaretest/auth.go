package cloudflaretest

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"time"
)

// authFailure is a refused authentication: the HTTP status and the error to answer with.
type authFailure struct {
	status int
	err    apiError
}

func badHeaders(chainCode int, chainMsg string) *authFailure {
	return &authFailure{http.StatusBadRequest, apiError{Code: codeInvalidHeaders, Message: "Invalid request headers",
		ErrorChain: []apiError{{Code: chainCode, Message: chainMsg}}}}
}

var invalidToken = &authFailure{http.StatusUnauthorized, apiError{Code: codeInvalidToken, Message: msgInvalidToken}}

// authenticate identifies the caller from Authorization: Bearer, or from X-Auth-Key + X-Auth-Email. A bearer
// token wins when both are present (cert-manager sends X-Auth-Email beside its token). Messages never echo
// the credential.
func (s *Server) authenticate(r *http.Request) (principal, *authFailure) {
	authz := r.Header.Get("Authorization")
	key := r.Header.Get("X-Auth-Key")
	email := r.Header.Get("X-Auth-Email")
	switch {
	case authz != "":
		return s.authenticateToken(authz)
	case key != "" || email != "":
		return s.authenticateKey(key, email)
	}
	return principal{}, &authFailure{http.StatusBadRequest, apiError{Code: codeMissingAuth,
		Message: "Missing X-Auth-Key, X-Auth-Email or Authorization headers"}}
}

func (s *Server) authenticateToken(header string) (principal, *authFailure) {
	value, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || !wellFormedToken.MatchString(value) {
		return principal{}, badHeaders(codeBadAuthFormat, "Invalid format for Authorization header")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byValue[value]
	if t == nil {
		return principal{}, invalidToken
	}
	now := s.now()
	if t.statusAt(now) != statusActive || (t.notBefore != nil && now.Before(*t.notBefore)) {
		return principal{}, invalidToken
	}
	ip := s.faults.getClientIP()
	if !ipAllowed(ip, t.ipIn, t.ipNotIn) {
		return principal{}, &authFailure{http.StatusForbidden, apiError{Code: codeUnauthorized,
			Message: "Cannot use the access token from location: " + ip}}
	}
	used := now.Truncate(time.Second)
	t.lastUsedOn = &used
	return principal{tok: t, bucket: s.bucketOf(t)}, nil
}

// bucketOf is the rate-limit budget a token draws on: Cloudflare counts per user (dashboard, global key and
// the user's tokens together) and per account-owned token.
func (s *Server) bucketOf(t *token) string {
	if t.owner == ownerAccount {
		return "account-token:" + t.id
	}
	return "user:" + s.userTag
}

func (s *Server) authenticateKey(key, email string) (principal, *authFailure) {
	if key == "" || email == "" {
		return principal{}, &authFailure{http.StatusBadRequest, apiError{Code: codeMissingAuth,
			Message: "Missing X-Auth-Key, X-Auth-Email or Authorization headers"}}
	}
	if _, err := mail.ParseAddress(email); err != nil {
		return principal{}, badHeaders(codeBadEmailFormat, "Invalid format for X-Auth-Email header")
	}
	if !wellFormedKey.MatchString(key) {
		return principal{}, badHeaders(codeBadKeyFormat, "Invalid format for X-Auth-Key header")
	}
	keyOK := subtle.ConstantTimeCompare([]byte(key), []byte(s.globalKey)) == 1
	if !keyOK || !strings.EqualFold(email, s.email) {
		return principal{}, &authFailure{http.StatusForbidden, apiError{Code: codeUnknownKey,
			Message: "Unknown X-Auth-Key or X-Auth-Email"}}
	}
	return principal{globalKey: true, bucket: "user:" + s.userTag}, nil
}

// ipAllowed applies a request_ip condition: the address must be in one of in (when in is set) and in none of
// notIn.
func ipAllowed(ipStr string, in, notIn []string) bool {
	ip := net.ParseIP(ipStr)
	if ip == nil {
		return false
	}
	if len(in) > 0 && !ipInAny(ip, in) {
		return false
	}
	return !ipInAny(ip, notIn)
}

func ipInAny(ip net.IP, cidrs []string) bool {
	for _, c := range cidrs {
		if n := parseCIDR(c); n != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// parseCIDR accepts a CIDR or a bare address (taken as /32 or /128); nil when neither.
func parseCIDR(s string) *net.IPNet {
	if _, n, err := net.ParseCIDR(s); err == nil {
		return n
	}
	if ip := net.ParseIP(s); ip != nil {
		bits := 128
		if ip.To4() != nil {
			ip, bits = ip.To4(), 32
		}
		return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}
	}
	return nil
}
