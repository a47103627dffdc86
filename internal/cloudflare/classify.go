package cloudflare

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	sdkuser "github.com/cloudflare/cloudflare-go/v7/user"
)

// Cloudflare error codes the operator acts on (Cloudflare's API reference; cloudflaretest/codes.go records
// which answer carries which, as observed). Codes are read only after
// the HTTP status: Cloudflare's own clients disagree on which code comes with which status (a missing token is
// 404 with code 1000 in Terraform's fixtures, and 1000 elsewhere means a bad credential).
const (
	codeInvalidToken      = 1000
	codeAuthentication    = 10000
	codeLocationOrAccess  = 9109
	codeUnknownKey        = 9103
	codeMissingAuth       = 9106
	codeInvalidHeaders    = 6003
	codeInvalidHeaderAuth = 6111
	codeRateLimited       = 971
	// Codes of a request Cloudflare found malformed: invalid field, malformed JSON, a policy id on create.
	codeInvalidRequest = 6002
	codeMalformedJSON  = 6007
	codeReusedPolicy   = 1001
)

// defaultRetryAfter applies when Cloudflare answers 429 without a usable Retry-After header.
const defaultRetryAfter = time.Minute

// maxMessageLen bounds Cloudflare's message in our errors (they end up in conditions and events).
const maxMessageLen = 300

// classify turns an error from the SDK, the transport or the budget into a classified *Error for op (now
// reads a Retry-After date). It
// never copies the SDK's own error text, which embeds the request; the message is built from Cloudflare's
// code and message only, with every value in redact scrubbed out.
func classify(op Op, err error, now time.Time, redact ...string) error {
	if err == nil {
		return nil
	}
	var ours *Error
	if errors.As(err, &ours) {
		cp := *ours
		if cp.Op == "" {
			cp.Op = op
		}
		return &cp
	}
	var api *sdkuser.Error
	if errors.As(err, &api) {
		return classifyAPI(op, api, now, redact)
	}
	e := &Error{Op: op, Class: ClassTransient}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e.Message = "request canceled or timed out: " + err.Error()
		e.cause = err
	default:
		e.Message = transportMessage(err)
	}
	e.Message = scrub(e.Message, redact)
	return e
}

// transportMessage describes a transport failure without the request URL.
func transportMessage(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return "timeout talking to Cloudflare: " + err.Error()
	}
	return "cannot talk to Cloudflare: " + err.Error()
}

func classifyAPI(op Op, api *sdkuser.Error, now time.Time, redact []string) *Error {
	e := &Error{Op: op, HTTPStatus: api.StatusCode}
	for _, d := range api.Errors {
		e.Codes = append(e.Codes, int(d.Code))
		if e.Message == "" {
			e.Message = d.Message
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(api.StatusCode)
	}
	e.Message = scrub(e.Message, redact)
	var known bool
	e.Class, known = classOf(api.StatusCode, e.Codes, e.Message)
	e.Unrecognised = !known
	if isZoneListRefusal(e) {
		e.Message += `: the parent credential lacks "Zone Read" on all zones of the account, which listing zones needs`
	}
	if e.Class == ClassRateLimited {
		e.RetryAfter = defaultRetryAfter
		if api.Response != nil {
			if d, ok := parseRetryAfter(api.Response.Header.Get("Retry-After"), now); ok {
				e.RetryAfter = d
			}
		}
	}
	return e
}

// classOf is the classification table: the HTTP status first, codes second, and codes only where the status
// agrees with them. known is false when only the status decided (a code the operator does not know, on a 4xx
// other than 401, 404 and 429): such answers are logged and named in the condition as unrecognised.
func classOf(status int, codes []int, msg string) (class Class, known bool) {
	has := func(c int) bool { return slices.Contains(codes, c) }
	lower := strings.ToLower(msg)
	clientError := status >= 400 && status < 500
	switch {
	case status == http.StatusTooManyRequests || (clientError && has(codeRateLimited)):
		return ClassRateLimited, true
	case status == http.StatusNotFound:
		// Gone, whatever the code: Terraform's fixtures pair it with 1000 "Invalid API Token".
		return ClassNotFound, true
	case status == http.StatusRequestTimeout || status == http.StatusConflict || status >= 500:
		return ClassTransient, true
	case !clientError:
		return ClassTransient, false
	case has(codeLocationOrAccess) && strings.Contains(lower, "location"):
		return ClassIPRestricted, true
	case has(codeLocationOrAccess):
		return ClassPermission, true
	case has(codeUnknownKey):
		return ClassUnknownKey, true
	case status == http.StatusUnauthorized:
		return ClassAuthentication, true
	case has(codeInvalidToken) && (status == http.StatusBadRequest || status == http.StatusForbidden):
		return ClassAuthentication, true
	case has(codeMissingAuth), has(codeInvalidHeaders), has(codeInvalidHeaderAuth):
		return ClassAuthentication, true
	case has(codeAuthentication):
		return ClassPermission, true
	case isQuotaMessage(lower):
		// Cloudflare documents no code for a full quota: its message is matched, and an unrecognised refusal
		// of a create while the owner is at its quota counts too (suspectQuota).
		return ClassQuota, true
	case status == http.StatusForbidden && strings.Contains(lower, "requires permission"):
		// 403 with code 0: "Actor '…' requires permission 'com.cloudflare.api.account.zone.list' to list zones".
		return ClassPermission, true
	case status == http.StatusForbidden:
		return ClassPermission, false
	case has(codeInvalidRequest), has(codeMalformedJSON), has(codeReusedPolicy):
		return ClassInvalid, true
	}
	return ClassInvalid, false
}

// isZoneListRefusal recognises Cloudflare's refusal of an unfiltered zone list to a token without account-wide
// zone rights, which the dashboard calls "Zone Read".
func isZoneListRefusal(e *Error) bool {
	return e.Class == ClassPermission && strings.Contains(e.Message, "com.cloudflare.api.account.zone.list")
}

func isQuotaMessage(lower string) bool {
	return strings.Contains(lower, "quota") || strings.Contains(lower, "maximum number of")
}

// parseRetryAfter reads Retry-After as seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

// scrub removes secret values from a message and bounds its length.
func scrub(msg string, redact []string) string {
	for _, s := range redact {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	if len(msg) > maxMessageLen {
		msg = msg[:maxMessageLen] + "…"
	}
	return msg
}
