package cloudflare

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// budgetWindow is Cloudflare's rate-limit window: 1200 requests per 5 minutes per credential, and going over
// blocks the credential for the next 5 minutes. The client-side budget counts over the same window so that the
// operator never trips the server-side block.
const budgetWindow = 5 * time.Minute

// defaultMaxBudgetWait is the longest a call waits in-process for a budget slot. Longer waits are handed back
// to the caller as ClassRateLimited with RetryAfter, so that controller workers requeue instead of blocking
// for minutes.
const defaultMaxBudgetWait = 2 * time.Second

// Budget is a sliding-window request limiter for one credential: at most limit requests in any rolling
// window, and no more than what Cloudflare last said is left of its own count (serverpace.go). It is shared
// by every client of that credential. It is safe for concurrent use.
type Budget struct {
	limit   int
	window  time.Duration
	maxWait time.Duration
	// clock tells the time and times the waits (a fake one in tests, which step it).
	clock clock.Clock

	mu sync.Mutex
	// stamps holds the times of the requests still inside the window, oldest first, as a queue starting at
	// head (a slice that is compacted now and then, so admission is O(1) amortized).
	stamps []time.Time
	head   int
	// blockedUntil is set after Cloudflare answered 429: nothing goes out before it.
	blockedUntil time.Time
	// server is what Cloudflare last said is left of its own count (serverpace.go).
	server serverReading
}

// NewBudget returns a budget of limit requests per rolling window. clk may be nil (the real clock).
func NewBudget(limit int, window time.Duration, clk clock.Clock) *Budget {
	if limit <= 0 {
		limit = 1
	}
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Budget{limit: limit, window: window, maxWait: defaultMaxBudgetWait, clock: clk}
}

// sleep waits for d on the budget's clock, or until ctx is done.
func (b *Budget) sleep(ctx context.Context, d time.Duration) error {
	t := b.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// prune drops the stamps that left the window. Callers hold b.mu.
func (b *Budget) prune(now time.Time) {
	cutoff := now.Add(-b.window)
	for b.head < len(b.stamps) && !b.stamps[b.head].After(cutoff) {
		b.head++
	}
	// Compact once the dead prefix dominates, to keep memory bounded by the limit.
	if b.head > 0 && b.head >= len(b.stamps)/2 {
		n := copy(b.stamps, b.stamps[b.head:])
		b.stamps = b.stamps[:n]
		b.head = 0
	}
}

// reserve takes a slot if one is free now; otherwise it reports how long until one frees up.
func (b *Budget) reserve() (wait time.Duration, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if now.Before(b.blockedUntil) {
		return b.blockedUntil.Sub(now), false
	}
	if wait, ok := b.server.wait(now); !ok {
		return wait, false
	}
	b.prune(now)
	if len(b.stamps)-b.head < b.limit {
		b.stamps = append(b.stamps, now)
		b.server.spent++
		return 0, true
	}
	return b.stamps[b.head].Add(b.window).Sub(now), false
}

// Acquire takes one request slot. When the window is full (or Cloudflare asked us to back off) it waits if
// the wait is at most maxWait and fits before ctx's deadline; otherwise it returns a ClassRateLimited *Error
// whose RetryAfter says when a slot frees up.
func (b *Budget) Acquire(ctx context.Context) error {
	for {
		wait, ok := b.reserve()
		if ok {
			return nil
		}
		if wait > b.maxWait || !fitsDeadline(ctx, b.clock.Now(), wait) {
			return &Error{
				Class: ClassRateLimited,
				Message: fmt.Sprintf("request budget for this credential exhausted (the client's own, or what Cloudflare "+
					"says is left); retry in %s", wait.Round(time.Second)),
				RetryAfter: wait,
			}
		}
		if err := b.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func fitsDeadline(ctx context.Context, now time.Time, wait time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || now.Add(wait).Before(deadline)
}

// BlockFor stops all requests of this credential for d (Cloudflare's Retry-After after a 429). A shorter
// block never shortens a longer one already in force.
func (b *Budget) BlockFor(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until := b.clock.Now().Add(d); until.After(b.blockedUntil) {
		b.blockedUntil = until
	}
}

// Remaining is how many requests may go out right now (0 while blocked after a 429).
func (b *Budget) Remaining() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if now.Before(b.blockedUntil) {
		return 0
	}
	b.prune(now)
	return b.limit - (len(b.stamps) - b.head)
}

// idleSince reports whether the budget holds no request newer than t (so it can be forgotten).
func (b *Budget) idleSince(t time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.blockedUntil.After(t) {
		return false
	}
	return len(b.stamps) == b.head || b.stamps[len(b.stamps)-1].Before(t)
}
