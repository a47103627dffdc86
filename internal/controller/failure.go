package controller

import (
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// verdict is what a failed pass means, for either kind: the condition reason and message, when to look
// again, and whether retrying as is can help.
type verdict struct {
	reason  string
	message string
	// after is when to look again; 0 with terminal: only a change to what was declared can help.
	after time.Duration
	// terminal: nothing but a change to the resource, its issuer or its namespace can help.
	terminal bool
	// stalled: retrying the same thing cannot succeed (a refusal or a permanent Cloudflare error); the
	// Stalled condition says so.
	stalled bool
	// refusal is set when the cause is a problem with what was declared (no Cloudflare call was made).
	refusal *refusal
}

// judge is the failure policy of both reconcilers: an error becomes reason, message, requeue and
// stalled-or-not here and nowhere else. backoff is the caller's wait for an ordinary transient failure.
func judge(err error, backoff time.Duration) verdict {
	if ref, ok := asRefusal(err); ok {
		v := verdict{reason: ref.Reason, message: err.Error(), stalled: true, refusal: ref}
		if ref.RetryAfter > 0 {
			// What would fix it is not watched (a foreign Secret is not in the cache): look again later.
			v.after = max(backoff, ref.RetryAfter)
		} else {
			v.terminal = true
		}
		return v
	}
	v := verdict{reason: failureReason(err), message: credentialAdvice(err), after: backoff}
	switch {
	case cloudflare.ClassOf(err) == cloudflare.ClassQuota:
		// Only a deletion frees a slot; asking again soon would only cost requests.
		v.after = max(backoff, time.Minute)
	case cloudflare.IsPermanent(err):
		v.after, v.stalled = max(backoff, 5*time.Minute), true
	case cloudflare.RetryAfterOf(err) > 0:
		// As long as asked, and a fifth of the backoff more, so that tokens asked together do not return together.
		v.after = cloudflare.RetryAfterOf(err) + backoff/5
	}
	return v
}

// failureReason is the condition reason for err: the refusal's, the Cloudflare class, else "Error".
func failureReason(err error) string {
	if ref, ok := asRefusal(err); ok {
		return ref.Reason
	}
	if c := cloudflare.ClassOf(err); c != "" {
		return string(c)
	}
	return "Error"
}
