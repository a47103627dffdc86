package cloudflare

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Cloudflare counts per user (every token of the user together: the children the operator minted, used by
// cert-manager and external-dns, eat the parent's 1200 requests per 5 minutes) or per account token. The
// client's own count cannot see the children; the Ratelimit header on every answer can:
//
//	Ratelimit: "default";r=<remaining>;t=<seconds until that changes>
//	Ratelimit-Policy: "default";q=<quota>;w=<window in seconds>
//
// The budget keeps the last reading and lets out no more than what it says is left, less a margin for
// requests in flight and for what others spend between two readings, until its reset; after that the next
// answer brings a new reading. The client-side budget stays the ceiling.

// minServerMargin is the least of the server's remaining requests the operator leaves alone; with the
// default policy the margin is a fiftieth of the quota (24 of 1200).
const minServerMargin = 10

// serverReading is what the last answer said is left of the server-side bucket.
type serverReading struct {
	known     bool
	remaining int
	until     time.Time
	// spent counts the requests let out since the reading.
	spent  int
	margin int
}

// wait is zero while the reading lets a request out, else how long until its reset.
func (s *serverReading) wait(now time.Time) (time.Duration, bool) {
	if !s.known || !now.Before(s.until) || s.spent < s.remaining-s.margin {
		return 0, true
	}
	return s.until.Sub(now), false
}

// left is what the reading says may still go out now, and whether a reading is in force.
func (s *serverReading) left(now time.Time) (int, bool) {
	if !s.known || !now.Before(s.until) {
		return 0, false
	}
	return max(s.remaining-s.spent, 0), true
}

// ObserveServer takes the rate-limit headers of an answer; an answer without them changes nothing. It
// returns the remaining requests the server reported, and whether it reported any.
func (b *Budget) ObserveServer(h http.Header, now time.Time) (int, bool) {
	r, t, ok := parseRateLimit(h)
	if !ok {
		return 0, false
	}
	margin := minServerMargin
	if q, ok := parsePolicyQuota(h.Get("Ratelimit-Policy")); ok {
		margin = max(margin, q/50)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.server = serverReading{known: true, remaining: r, until: now.Add(time.Duration(t) * time.Second), margin: margin}
	return r, true
}

// ServerRemaining is what the last reading says is left now, and whether a reading is in force.
func (b *Budget) ServerRemaining() (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.server.left(b.clock.Now())
}

// parseRateLimit reads r and t from `Ratelimit: "default";r=50;t=30` (the first list member), or from the
// older RateLimit-Remaining / RateLimit-Reset pair.
func parseRateLimit(h http.Header) (remaining, reset int, ok bool) {
	if v := h.Get("Ratelimit"); v != "" {
		params := sfParams(v)
		r, okR := params["r"]
		t, okT := params["t"]
		return r, t, okR && okT
	}
	r, errR := strconv.Atoi(strings.TrimSpace(h.Get("Ratelimit-Remaining")))
	t, errT := strconv.Atoi(strings.TrimSpace(h.Get("Ratelimit-Reset")))
	return r, t, errR == nil && errT == nil && r >= 0 && t >= 0
}

// parsePolicyQuota reads q from `Ratelimit-Policy: "default";q=1200;w=300`.
func parsePolicyQuota(v string) (int, bool) {
	q, ok := sfParams(v)["q"]
	return q, ok && q > 0
}

// sfParams reads the non-negative integer parameters of the first member of a structured-field list.
func sfParams(v string) map[string]int {
	first, _, _ := strings.Cut(v, ",")
	out := map[string]int{}
	for _, p := range strings.Split(first, ";")[1:] {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if n, err := strconv.Atoi(strings.TrimSpace(val)); ok && err == nil && n >= 0 {
			out[strings.ToLower(strings.TrimSpace(k))] = n
		}
	}
	return out
}
