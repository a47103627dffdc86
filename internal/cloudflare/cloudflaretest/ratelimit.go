package cloudflaretest

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// limiter is Cloudflare's global API rate limit: a sliding window of requests per bucket (the user, or an
// account-owned token). Going over blocks every call of the bucket for a whole window, as Cloudflare does.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	times        []time.Time
	blockedUntil time.Time
}

func (l *limiter) init() { l.buckets = map[string]*bucket{} }

// take records one request of the bucket. It reports whether the request may go on, how many more the
// bucket takes now, and when it changes: for a blocked bucket when the block ends (the Retry-After), otherwise
// when its oldest request leaves the window and frees a slot.
func (l *limiter) take(key string, now time.Time, limit int, window time.Duration) (ok bool, remaining int, reset time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		b = &bucket{}
		l.buckets[key] = b
	}
	if now.Before(b.blockedUntil) {
		return false, 0, b.blockedUntil.Sub(now)
	}
	cut := 0
	for cut < len(b.times) && !b.times[cut].After(now.Add(-window)) {
		cut++
	}
	b.times = b.times[cut:]
	if len(b.times) >= limit {
		b.blockedUntil = now.Add(window)
		return false, 0, window
	}
	b.times = append(b.times, now)
	return true, limit - len(b.times), b.times[0].Add(window).Sub(now)
}

func (l *limiter) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buckets = map[string]*bucket{}
}

// ResetRateLimits forgets every credential's request history and block.
func (s *Server) ResetRateLimits() { s.limiter.reset() }

// rateLimited answers 429 with code 971 and Retry-After in whole seconds (at least 1).
func rateLimited(w http.ResponseWriter, retryAfter time.Duration) {
	secs := int((retryAfter + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	fail(w, http.StatusTooManyRequests, codeRateLimited, msgRateLimited)
}

// rateHeaders are the headers Cloudflare adds to every answer: the bucket's policy (quota and window, in
// seconds) and what is left of it with the seconds until that changes, rounded up.
func (s *Server) rateHeaders(w http.ResponseWriter, remaining int, reset time.Duration) {
	w.Header().Set("Ratelimit-Policy", fmt.Sprintf(`"default";q=%d;w=%d`, s.cfg.rateLimit, int(s.cfg.rateWindow/time.Second)))
	w.Header().Set("Ratelimit", fmt.Sprintf(`"default";r=%d;t=%d`, remaining, int((reset+time.Second-1)/time.Second)))
}
