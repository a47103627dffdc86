package cloudflare

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/go-logr/logr"
)

// Cloudflare's token quotas (cloudflare-api.md): per user and per account.
const (
	UserTokenQuota    = 50
	AccountTokenQuota = 500
)

// QuotaOf is Cloudflare's token quota for an owner.
func QuotaOf(o Owner) int {
	if o == OwnerAccount {
		return AccountTokenQuota
	}
	return UserTokenQuota
}

// errorLog logs each kind of unrecognised Cloudflare answer once: its operation, HTTP status, codes and
// message (scrubbed of credentials; Cloudflare's answers carry no token value). Once per kind, because the
// same answer repeats on every retry and the condition already shows it.
type errorLog struct {
	log  logr.Logger
	mu   sync.Mutex
	seen map[string]bool
}

func newErrorLog(log logr.Logger) *errorLog { return &errorLog{log: log, seen: map[string]bool{}} }

func (l *errorLog) report(err error) {
	var e *Error
	if !errors.As(err, &e) || !e.Unrecognised {
		return
	}
	key := fmt.Sprintf("%s|%d|%v", e.Op, e.HTTPStatus, e.Codes)
	l.mu.Lock()
	seen := l.seen[key]
	l.seen[key] = true
	l.mu.Unlock()
	if !seen {
		l.log.Info("Cloudflare answered with an error the operator does not recognise; classified by its HTTP status",
			"operation", e.Op, "httpStatus", e.HTTPStatus, "codes", e.Codes, "message", e.Message, "class", e.Class)
	}
}

// classify classifies err for op, scrubbing this client's credential out of the message, and logs an
// unrecognised answer once.
func (c *sdkClient) classify(op Op, err error) error {
	out := classify(op, err, c.clock.Now(), c.redact...)
	c.errLog.report(out)
	return out
}

// fail is classify for every call but Verify: a 403 with code 10000 is checked by verifying the credential.
func (c *sdkClient) fail(ctx context.Context, op Op, err error) error {
	return c.confirmDenied(ctx, c.classify(op, err))
}

// confirmDenied verifies the credential once after a 403 with code 10000: Cloudflare answers a revoked or
// expired credential that way on ordinary calls too (reported), and "permission missing" would send a person
// looking for a right the credential never lacked. A credential that verifies keeps the answer a permission
// problem; one that fails verification makes it the credential problem it is.
func (c *sdkClient) confirmDenied(ctx context.Context, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Class != ClassPermission || !slices.Contains(e.Codes, codeAuthentication) {
		return err
	}
	_, verr := c.Verify(ctx)
	switch class := ClassOf(verr); class {
	case ClassAuthentication, ClassUnknownKey:
		cp := *e
		cp.Class = class
		cp.Message = e.Message + "; verifying the parent credential failed too: " + verr.Error()
		return &cp
	}
	return err
}

// suspectQuota reads an unrecognised refusal of a create as the quota when the owner holds quota-1 tokens or
// more: Cloudflare documents no code for it, and taking it for an invalid request would stall the resource
// for good where deleting tokens would help. Costs one list, and only after such a refusal.
func (c *sdkClient) suspectQuota(ctx context.Context, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Class != ClassInvalid || !e.Unrecognised {
		return err
	}
	tokens, lerr := c.ListTokens(ctx)
	quota := QuotaOf(c.cfg.Owner)
	if lerr != nil || len(tokens) < quota-1 {
		return err
	}
	cp := *e
	cp.Class = ClassQuota
	cp.Message = fmt.Sprintf("%s (the %s holds %d of its %d tokens: taken for the token quota)",
		e.Message, strings.ToLower(string(c.cfg.Owner)), len(tokens), quota)
	return &cp
}
