package failure

import (
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// Refusal is a problem with what was declared (the resource or its issuer): retrying cannot help until
// someone changes it, and no Cloudflare call is made for it.
type Refusal struct {
	// Reason is the condition reason, CamelCase.
	Reason  string
	Message string
	// RetryAfter, when set, asks for another look after that long: for causes the operator does not watch.
	RetryAfter time.Duration
}

func (r *Refusal) Error() string { return r.Message }

// Refuse is a Refusal with a formatted message.
func Refuse(reason, format string, args ...any) error {
	return &Refusal{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// AsRefusal finds the Refusal in err's chain.
func AsRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

// UnknownRefError turns "Cloudflare has no such zone/permission" into a Refusal that names the field and
// the closest valid names; other failures pass through.
func UnknownRefError(err error, what, field string) error {
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
	return &Refusal{Reason: reason, Message: msg}
}

// NotFoundAsRefusal turns a NotFound from the API server into a refusal; other errors pass through wrapped.
func NotFoundAsRefusal(err error, reason, format string, args ...any) error {
	if apierrors.IsNotFound(err) {
		return Refuse(reason, format, args...)
	}
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err)
}
