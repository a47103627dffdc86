package cloudflaretokens

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/observe"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func mt(t time.Time) *metav1.Time { return &metav1.Time{Time: t} }

func TestRenewBeforeDefaultsToAThirdOfTTL(t *testing.T) {
	spec := &cfv1.CloudflareTokenSpec{TTL: &metav1.Duration{Duration: 168 * time.Hour}}
	if got := spec.RenewBeforeOrDefault(); got != 56*time.Hour {
		t.Fatalf("renewBefore = %s, want 56h", got)
	}
	spec.RenewBefore = &metav1.Duration{Duration: time.Hour}
	if got := spec.RenewBeforeOrDefault(); got != time.Hour {
		t.Fatalf("renewBefore = %s, want the spec's 1h", got)
	}
}

func TestRenewalTimeIsBeforeExpiryMinusRenewBeforeWithBoundedJitter(t *testing.T) {
	expires := t0.Add(168 * time.Hour)
	seen := map[time.Time]bool{}
	for i := range 200 {
		key := string(rune('a'+i%26)) + time.Duration(i).String()
		got := renewalTime(expires, 56*time.Hour, key)
		latest, earliest := expires.Add(-56*time.Hour), expires.Add(-56*time.Hour-56*time.Hour/10)
		if got.After(latest) || got.Before(earliest) {
			t.Fatalf("renewalTime(%q) = %s, want within [%s, %s]", key, got, earliest, latest)
		}
		if got != renewalTime(expires, 56*time.Hour, key) {
			t.Fatalf("renewalTime is not deterministic for %q", key)
		}
		seen[got] = true
	}
	if len(seen) < 150 {
		t.Fatalf("200 tokens minted together renew at only %d distinct times: rotations are not spread", len(seen))
	}
}

func TestMintReason(t *testing.T) {
	live := tokenFacts{scopeHash: "s1", live: true, secretHoldsToken: true}
	current := func(mut ...func(*cfv1.CloudflareToken)) *cfv1.CloudflareToken {
		tok := &cfv1.CloudflareToken{Status: cfv1.CloudflareTokenStatus{TokenID: "t1", ScopeHash: "s1",
			ExpiresAt: mt(t0.Add(time.Hour)), RenewalTime: mt(t0.Add(30 * time.Minute))}}
		for _, m := range mut {
			m(tok)
		}
		return tok
	}
	annotate := func(v string) func(*cfv1.CloudflareToken) {
		return func(tok *cfv1.CloudflareToken) { tok.Annotations = map[string]string{cfv1.AnnotationRotate: v} }
	}
	for _, tc := range []struct {
		name  string
		tok   *cfv1.CloudflareToken
		facts tokenFacts
		now   time.Time
		want  observe.MintReason
	}{
		{"fresh token stays", current(), live, t0, observe.MintNone},
		{"no token yet", current(func(tok *cfv1.CloudflareToken) { tok.Status.TokenID = "" }), live, t0, observe.MintFirst},
		{"renewal time reached", current(), live, t0.Add(30 * time.Minute), observe.MintRenewalDue},
		{"one second before renewal", current(), live, t0.Add(30*time.Minute - time.Second), observe.MintNone},
		{"expired", current(), live, t0.Add(time.Hour), observe.MintExpired},
		{"revoked out of band", current(), tokenFacts{scopeHash: "s1", secretHoldsToken: true}, t0, observe.MintTokenNotLive},
		{"secret lost", current(), tokenFacts{scopeHash: "s1", live: true}, t0, observe.MintSecretLost},
		{"scope changed", current(), tokenFacts{scopeHash: "s2", live: true, secretHoldsToken: true}, t0, observe.MintScopeChanged},
		{"new rotate value", current(annotate("x")), live, t0, observe.MintRotateRequest},
		{"rotate value already handled", current(annotate("x"), func(tok *cfv1.CloudflareToken) { tok.Status.LastRotateRequest = "x" }), live, t0, observe.MintNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mintReason(tc.tok, tc.facts, tc.now); got != tc.want {
				t.Fatalf("mintReason = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRetiringDueSplitsAtRevokeAt(t *testing.T) {
	in := []cfv1.RetiringToken{{ID: "a", RevokeAt: metav1.Time{Time: t0}}, {ID: "b", RevokeAt: metav1.Time{Time: t0.Add(time.Second)}}}
	due, waiting := retiringDue(in, t0)
	if len(due) != 1 || due[0].ID != "a" || len(waiting) != 1 || waiting[0].ID != "b" {
		t.Fatalf("due=%v waiting=%v", due, waiting)
	}
}

func TestNextWakeIsTheEarliestEventAndNeverZero(t *testing.T) {
	st := &cfv1.CloudflareTokenStatus{RenewalTime: mt(t0.Add(time.Hour)),
		RetiringTokens: []cfv1.RetiringToken{{ID: "a", RevokeAt: metav1.Time{Time: t0.Add(time.Minute)}}}}
	if got := nextWake(st, t0, 10*time.Minute); got != time.Minute {
		t.Fatalf("nextWake = %s, want the retiring token's 1m", got)
	}
	st.RetiringTokens = nil
	if got := nextWake(st, t0, 10*time.Minute); got != 10*time.Minute {
		t.Fatalf("nextWake = %s, want the drift interval", got)
	}
	st.RenewalTime = mt(t0.Add(-time.Hour))
	if got := nextWake(st, t0, 10*time.Minute); got != time.Second {
		t.Fatalf("nextWake = %s, want the 1s floor for a past renewal time", got)
	}
}

func TestFailureBackoffGrowsAndIsCapped(t *testing.T) {
	prev := time.Duration(0)
	for n := int32(1); n <= 8; n++ {
		d := failureBackoff(n, "uid")
		if d <= prev {
			t.Fatalf("backoff(%d) = %s, not above backoff(%d) = %s", n, d, n-1, prev)
		}
		prev = d
	}
	if d := failureBackoff(50, "uid"); d > 12*time.Minute || d < 10*time.Minute {
		t.Fatalf("backoff(50) = %s, want capped at 10m plus at most a fifth", d)
	}
}
