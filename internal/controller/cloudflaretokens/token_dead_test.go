package cloudflaretokens

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDeactivationNamesTheStatus(t *testing.T) {
	cases := map[string]struct{ reason, says string }{
		"revoked (exposed)": {"Exposed", "deactivated by Cloudflare (exposed)"},
		"disabled":          {"Disabled", "is disabled at Cloudflare"},
		"expired":           {"Expired", "is expired at Cloudflare"},
		"revoked":           {"UnknownStatus", `status "revoked"`},
		"suspended (fraud)": {"UnknownStatus", `status "suspended (fraud)"`},
	}
	for status, want := range cases {
		reason, msg := deactivation("abc", status)
		if reason != want.reason || !strings.Contains(msg, want.says) || !strings.Contains(msg, "deleted now") {
			t.Errorf("%s: %s %q", status, reason, msg)
		}
	}
}

func TestUsedAfterSwitch(t *testing.T) {
	switched := metav1.NewTime(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	at := func(d time.Duration) *metav1.Time { return timePtr(switched.Add(d)) }
	tol := 30 * time.Second
	for _, tc := range []struct {
		used *metav1.Time
		want bool
	}{{nil, false}, {at(-time.Minute), false}, {at(tol), false}, {at(tol + time.Second), true}} {
		if got := usedAfterSwitch(tc.used, &switched, tol); got != tc.want {
			t.Errorf("used %v: %v, want %v", tc.used, got, tc.want)
		}
	}
	if usedAfterSwitch(at(time.Hour), nil, tol) {
		t.Error("without replacedAt (recorded before the field existed) nothing can be said")
	}
	if got := later(at(time.Minute), &at(0).Time); !got.Equal(at(time.Minute)) {
		t.Error("a recorded use is never moved back")
	}
}
