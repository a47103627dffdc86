// Package failure is the failure policy of every reconciler: what a failed pass means (reason, message, when
// to look again, stalled or not), and the refusal, the error for a problem with what was declared.
package failure

import (
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// Verdict is what a failed pass means, for either kind: the condition reason and message, when to look
// again, and whether retrying as is can help.
type Verdict struct {
	Reason  string
	Message string
	// After is when to look again; 0 with Terminal: only a change to what was declared can help.
	After time.Duration
	// Terminal: nothing but a change to the resource, its issuer or its namespace can help.
	Terminal bool
	// Stalled: retrying the same thing cannot succeed (a Refusal or a permanent Cloudflare error); the
	// Stalled condition says so.
	Stalled bool
	// Refusal is set when the cause is a problem with what was declared (no Cloudflare call was made).
	Refusal *Refusal
}

// Judge is the failure policy of both reconcilers: an error becomes reason, message, requeue and
// stalled-or-not here and nowhere else. backoff is the caller's wait for an ordinary transient failure.
func Judge(err error, backoff time.Duration) Verdict {
	if ref, ok := AsRefusal(err); ok {
		v := Verdict{Reason: ref.Reason, Message: err.Error(), Stalled: true, Refusal: ref}
		if ref.RetryAfter > 0 {
			// What would fix it is not watched (a foreign Secret is not in the cache): look again later.
			v.After = max(backoff, ref.RetryAfter)
		} else {
			v.Terminal = true
		}
		return v
	}
	v := Verdict{Reason: failureReason(err), Message: credentialAdvice(err), After: backoff}
	switch {
	case cloudflare.ClassOf(err) == cloudflare.ClassQuota:
		// Only a deletion frees a slot; asking again soon would only cost requests.
		v.After = max(backoff, time.Minute)
	case cloudflare.IsPermanent(err):
		v.After, v.Stalled = max(backoff, 5*time.Minute), true
	case cloudflare.RetryAfterOf(err) > 0:
		// As long as asked, and a fifth of the backoff more, so that tokens asked together do not return together.
		v.After = cloudflare.RetryAfterOf(err) + backoff/5
	}
	return v
}

// failureReason is the condition reason for err: the Refusal's, the Cloudflare class, else "Error".
func failureReason(err error) string {
	if ref, ok := AsRefusal(err); ok {
		return ref.Reason
	}
	if c := cloudflare.ClassOf(err); c != "" {
		return string(c)
	}
	return "Error"
}
