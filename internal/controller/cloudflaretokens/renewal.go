package cloudflaretokens

import (
	"hash/fnv"
	"time"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/observe"
)

// The renewal decision is a set of small pure functions over the resource and a clock, so that each rule
// is a table test.

// maxRenewalJitter bounds how much earlier than expiresAt-renewBefore a token is renewed: a tenth of
// renewBefore, so that tokens minted together do not all rotate together.
const maxRenewalJitterFraction = 0.1

// renewalTime is when a token issued for key (a stable string such as UID/serial) should be replaced:
// renewBefore ahead of its expiry, minus a deterministic jitter of up to a tenth of renewBefore.
func renewalTime(expiresAt time.Time, renewBefore time.Duration, key string) time.Time {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	frac := float64(h.Sum64()%10_000) / 10_000
	jitter := time.Duration(frac * maxRenewalJitterFraction * float64(renewBefore))
	return expiresAt.Add(-renewBefore - jitter).Truncate(time.Second)
}

// tokenFacts is what the decision needs to know beyond the resource itself.
type tokenFacts struct {
	// scopeHash of the spec as it is now.
	scopeHash string
	// live is false when Cloudflare no longer lists the current token as active.
	live bool
	// secretHoldsToken is false when the Secret is missing or no longer holds the current value.
	secretHoldsToken bool
	// ownerChanged is true when the issuer's tokenOwner or account is no longer the current token's.
	ownerChanged bool
}

// mintReason decides whether the resource needs a new token now.
func mintReason(tok *cfv1.CloudflareToken, facts tokenFacts, now time.Time) observe.MintReason {
	st := &tok.Status
	switch {
	case st.TokenID == "":
		return observe.MintFirst
	case st.ExpiresAt != nil && !now.Before(st.ExpiresAt.Time):
		return observe.MintExpired
	case !facts.live:
		return observe.MintTokenNotLive
	case !facts.secretHoldsToken:
		return observe.MintSecretLost
	case st.ScopeHash != facts.scopeHash:
		return observe.MintScopeChanged
	case facts.ownerChanged:
		return observe.MintOwnerChanged
	case rotateRequested(tok):
		return observe.MintRotateRequest
	case st.RenewalTime != nil && !now.Before(st.RenewalTime.Time):
		return observe.MintRenewalDue
	}
	return observe.MintNone
}

// rotateRequested is true when the rotate annotation carries a value not handled yet.
func rotateRequested(tok *cfv1.CloudflareToken) bool {
	v, ok := tok.Annotations[cfv1.AnnotationRotate]
	return ok && v != tok.Status.LastRotateRequest
}

// retiringDue splits retiring tokens into those whose grace period is over and the rest.
func retiringDue(retiring []cfv1.RetiringToken, now time.Time) (due, waiting []cfv1.RetiringToken) {
	for _, r := range retiring {
		if !now.Before(r.RevokeAt.Time) {
			due = append(due, r)
		} else {
			waiting = append(waiting, r)
		}
	}
	return due, waiting
}

// nextWake is the earliest of the renewal time, the next retiring token's revocation and the drift check.
func nextWake(st *cfv1.CloudflareTokenStatus, now time.Time, driftInterval time.Duration) time.Duration {
	wake := now.Add(driftInterval)
	if st.RenewalTime != nil && st.RenewalTime.Time.Before(wake) {
		wake = st.RenewalTime.Time
	}
	for _, r := range st.RetiringTokens {
		if r.RevokeAt.Time.Before(wake) {
			wake = r.RevokeAt.Time
		}
	}
	d := wake.Sub(now)
	if d < time.Second {
		d = time.Second // never a zero-delay loop
	}
	return d
}

// failureBackoff is the wait after the n-th consecutive failure: 5s doubling up to 10 minutes, with a
// deterministic jitter of up to a fifth, so that many tokens failing together do not retry together.
func failureBackoff(n int32, key string) time.Duration {
	const base, ceiling = 5 * time.Second, 10 * time.Minute
	d := base
	for i := int32(1); i < n && d < ceiling; i++ {
		d *= 2
	}
	if d > ceiling {
		d = ceiling
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return d + time.Duration(float64(d)*0.2*float64(h.Sum32()%1000)/1000)
}
