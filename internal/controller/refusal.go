package controller

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// refusal is a problem with what was declared (the resource or its issuer): retrying cannot help until
// someone changes it, and no Cloudflare call is made for it.
type refusal struct {
	// Reason is the condition reason, CamelCase.
	Reason  string
	Message string
	// RetryAfter, when set, asks for another look after that long: for causes the operator does not watch.
	RetryAfter time.Duration
}

func (r *refusal) Error() string { return r.Message }

func refuse(reason, format string, args ...any) error {
	return &refusal{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func asRefusal(err error) (*refusal, bool) {
	var r *refusal
	ok := errors.As(err, &r)
	return r, ok
}

// unknownRefError turns "Cloudflare has no such zone/permission" into a refusal that names the field and
// the closest valid names; other failures pass through.
func unknownRefError(err error, what, field string) error {
	var cfErr *cloudflare.Error
	if !errors.As(err, &cfErr) || cfErr.Class != cloudflare.ClassNotFound {
		return err
	}
	reason := "UnknownZone"
	if what != "zone" {
		reason = "UnknownPermission"
	}
	msg := fmt.Sprintf("%s: unknown %s: %s", field, what, cfErr.Message)
	if len(cfErr.Candidates) > 0 && !strings.Contains(cfErr.Message, "did you mean") {
		msg += fmt.Sprintf(" (closest valid names: %s)", strings.Join(cfErr.Candidates, ", "))
	}
	if what == "zone" {
		// A parent token sees only the zones it may read: a zone that exists can look unknown.
		msg += "; if the zone exists, give the parent credential \"Zone Read\" on it"
	}
	return &refusal{Reason: reason, Message: msg}
}
