package failure

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// TestJudge is the failure policy, row by row: reason, when to look again, and stalled or terminal.
func TestJudge(t *testing.T) {
	const backoff = 20 * time.Second
	cf := func(class cloudflare.Class, op cloudflare.Op, retry time.Duration) error {
		return &cloudflare.Error{Class: class, Op: op, Message: "answer", RetryAfter: retry}
	}
	cases := []struct {
		name     string
		err      error
		reason   string
		after    time.Duration
		terminal bool
		stalled  bool
		message  string // a part of the message
	}{
		{"Refusal: only a change helps", Refuse("ZoneNotAllowed", "spec.zones: no"), "ZoneNotAllowed", 0, true, true, "spec.zones: no"},
		{"wrapped Refusal keeps its reason and the context", fmt.Errorf("ctx: %w", Refuse("IssuerNotFound", "gone")),
			"IssuerNotFound", 0, true, true, "ctx: gone"},
		{"Refusal about something unwatched looks again", &Refusal{Reason: "SecretConflict", Message: "m", RetryAfter: time.Minute},
			"SecretConflict", time.Minute, false, true, "m"},
		{"Refusal's wait never undercuts the backoff", &Refusal{Reason: "SecretConflict", Message: "m", RetryAfter: time.Second},
			"SecretConflict", backoff, false, true, "m"},
		{"quota waits at least a minute", cf(cloudflare.ClassQuota, cloudflare.OpCreateToken, 0), "QuotaExceeded", time.Minute, false, false,
			"delete unused tokens or use an issuer of another owner"},
		{"the operator's own quota count keeps its message", cf(cloudflare.ClassQuota, cloudflare.OpReserveToken, 0), "QuotaExceeded",
			time.Minute, false, false, "reserve a token: QuotaExceeded: answer"},
		{"permanent errors stall, and look again after 5m", cf(cloudflare.ClassAuthentication, cloudflare.OpVerify, 0), "Authentication",
			5 * time.Minute, false, true, "create a new one"},
		{"permission names the right the operation needs", cf(cloudflare.ClassPermission, cloudflare.OpDeleteToken, 0), "PermissionDenied",
			5 * time.Minute, false, true, "needed to delete token"},
		{"rate limit waits as asked, plus a fifth of the backoff", cf(cloudflare.ClassRateLimited, cloudflare.OpListTokens, time.Minute),
			"RateLimited", time.Minute + backoff/5, false, false, "asked to wait 1m0s"},
		{"transient backs off", cf(cloudflare.ClassTransient, cloudflare.OpListTokens, 0), "Transient", backoff, false, false, "answer"},
		{"anything else backs off", fmt.Errorf("reading Secret: boom"), "Error", backoff, false, false, "boom"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Judge(c.err, backoff)
			if v.Reason != c.reason || v.After != c.after || v.Terminal != c.terminal || v.Stalled != c.stalled {
				t.Fatalf("got reason %q after %s terminal %v stalled %v; want %q %s %v %v",
					v.Reason, v.After, v.Terminal, v.Stalled, c.reason, c.after, c.terminal, c.stalled)
			}
			if !strings.Contains(v.Message, c.message) {
				t.Fatalf("message %q lacks %q", v.Message, c.message)
			}
			if _, refused := AsRefusal(c.err); refused != (v.Refusal != nil) {
				t.Fatalf("Refusal %v, want %v", v.Refusal, refused)
			}
		})
	}
}
