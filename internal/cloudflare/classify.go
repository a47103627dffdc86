package cloudflare

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	sdkuser "github.com/cloudflare/cloudflare-go/v7/user"
)

// Cloudflare error codes the operator acts on (see /work/shared/cloudflare-api.md).
const (
	codeInvalidToken      = 1000
	codeAuthentication    = 10000
	codeLocationOrAccess  = 9109
	codeUnknownKey        = 9103
	codeMissingAuth       = 9106
	codeInvalidHeaders    = 6003
	codeInvalidHeaderAuth = 6111
	codeRateLimited       = 971
	// codeQuota is what the fake (cloudflaretest) answers when the owner holds as many tokens as allowed;
	// Cloudflare documents no code, so messages are matched as well (isQuotaMessage).
	codeQuota = 1005
)

// defaultRetryAfter applies when Cloudflare answers 429 without a usable Retry-After header.
const defaultRetryAfter = time.Minute

// maxMessageLen bounds Cloudflare's message in our errors (they end up in conditions and events).
const maxMessageLen = 300

// classify turns an error from the SDK, the transport or the budget into a classified *Error for op. It
// never copies the SDK's own error text, which embeds the request; the message is built from Cloudflare's
// code and message only, with every value in redact scrubbed out.
func classify(op string, err error, redact ...string) error {
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
		return classifyAPI(op, api, redact)
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

func classifyAPI(op string, api *sdkuser.Error, redact []string) *Error {
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
	e.Class = classOf(api.StatusCode, e.Codes, e.Message)
	if e.Class == ClassRateLimited {
		e.RetryAfter = defaultRetryAfter
		if api.Response != nil {
			if d, ok := parseRetryAfter(api.Response.Header.Get("Retry-After"), time.Now()); ok {
				e.RetryAfter = d
			}
		}
	}
	return e
}

// classOf is the classification table; order matters (a 403 with code 9109 is not a plain permission error).
func classOf(status int, codes []int, msg string) Class {
	has := func(c int) bool {
		for _, x := range codes {
			if x == c {
				return true
			}
		}
		return false
	}
	lower := strings.ToLower(msg)
	switch {
	case status == http.StatusTooManyRequests || has(codeRateLimited):
		return ClassRateLimited
	case has(codeLocationOrAccess) && strings.Contains(lower, "location"):
		return ClassIPRestricted
	case has(codeLocationOrAccess):
		return ClassPermission
	case has(codeUnknownKey):
		return ClassUnknownKey
	case has(codeInvalidToken), status == http.StatusUnauthorized,
		has(codeMissingAuth), has(codeInvalidHeaders), has(codeInvalidHeaderAuth):
		return ClassAuthentication
	case has(codeAuthentication):
		return ClassPermission
	case status >= 400 && status < 500 && (has(codeQuota) || isQuotaMessage(lower)):
		return ClassQuota
	case status == http.StatusNotFound:
		return ClassNotFound
	case status == http.StatusForbidden:
		return ClassPermission
	case status == http.StatusRequestTimeout || status == http.StatusConflict || status >= 500:
		return ClassTransient
	case status >= 400:
		return ClassInvalid
	}
	return ClassTransient
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
