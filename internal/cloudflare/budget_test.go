package cloudflare

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// newFakeClock is the tests' clock: time moves only when a test steps it, and a wait on it (the budget's)
// blocks until then, so no test depends on timing. A call that returns while nobody steps did not wait.
func newFakeClock() *clocktesting.FakeClock {
	return clocktesting.NewFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

func newTestBudget(limit int, clk *clocktesting.FakeClock) *Budget {
	return NewBudget(limit, budgetWindow, clk)
}

// waitForWaiter returns once something waits on clk.
func waitForWaiter(t *testing.T, clk *clocktesting.FakeClock) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !clk.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("nothing waits on the clock")
		}
		time.Sleep(time.Millisecond)
	}
}

func mustAcquire(t *testing.T, b *Budget, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := b.Acquire(context.Background()); err != nil {
			t.Fatalf("acquire %d: %v", i, err)
		}
	}
}

func TestBudgetFullWindowReturnsRateLimitedWithRetryAfter(t *testing.T) {
	clk := newFakeClock()
	b := newTestBudget(3, clk)
	mustAcquire(t, b, 3)
	if got := b.Remaining(); got != 0 {
		t.Fatalf("Remaining = %d, want 0", got)
	}
	err := b.Acquire(context.Background())
	if ClassOf(err) != ClassRateLimited {
		t.Fatalf("4th acquire: %v, want RateLimited", err)
	}
	if got := RetryAfterOf(err); got != budgetWindow {
		t.Fatalf("RetryAfter = %s, want %s", got, budgetWindow)
	}
	// It returned without the clock being stepped: it did not wait.
	clk.Step(budgetWindow)
	mustAcquire(t, b, 3)
}

func TestBudgetWindowSlides(t *testing.T) {
	clk := newFakeClock()
	b := newTestBudget(3, clk)
	mustAcquire(t, b, 2) // t0
	clk.Step(2 * time.Minute)
	mustAcquire(t, b, 1) // t0+2m
	clk.Step(2 * time.Minute)
	if got := RetryAfterOf(b.Acquire(context.Background())); got != time.Minute {
		t.Fatalf("RetryAfter at t0+4m = %s, want 1m (the two t0 requests leave at t0+5m)", got)
	}
	clk.Step(time.Minute + time.Nanosecond)
	if got := b.Remaining(); got != 2 {
		t.Fatalf("Remaining at t0+5m = %d, want 2", got)
	}
	mustAcquire(t, b, 2)
	if got := RetryAfterOf(b.Acquire(context.Background())); got != 2*time.Minute-time.Nanosecond {
		t.Fatalf("RetryAfter = %s, want the t0+2m request's exit", got)
	}
}

func TestBudgetWaitsWhenTheWaitIsShort(t *testing.T) {
	clk := newFakeClock()
	b := newTestBudget(1, clk)
	mustAcquire(t, b, 1)
	clk.Step(budgetWindow - time.Second)
	done := make(chan error, 1)
	go func() { done <- b.Acquire(context.Background()) }()
	waitForWaiter(t, clk)
	clk.Step(time.Second - time.Nanosecond)
	select {
	case err := <-done:
		t.Fatalf("acquire returned (%v) before its 1s wait was over", err)
	default:
	}
	clk.Step(time.Nanosecond)
	if err := <-done; err != nil {
		t.Fatalf("acquire with a 1s wait: %v", err)
	}
}

func TestBudgetDoesNotWaitPastTheDeadline(t *testing.T) {
	clk := newFakeClock()
	b := newTestBudget(1, clk)
	mustAcquire(t, b, 1)
	clk.Step(budgetWindow - time.Second)
	// The deadline is set on the fake clock's time line: 0.5s away, shorter than the 1s wait.
	ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(500*time.Millisecond))
	defer cancel()
	err := b.Acquire(ctx)
	if ClassOf(err) != ClassRateLimited || RetryAfterOf(err) != time.Second {
		t.Fatalf("got %v (retry after %s), want RateLimited after 1s", err, RetryAfterOf(err))
	}
	// It returned without the clock being stepped: it did not wait.
}

func TestBudgetBlockAfter429(t *testing.T) {
	clk := newFakeClock()
	b := newTestBudget(100, clk)
	mustAcquire(t, b, 1)
	b.BlockFor(30 * time.Second)
	b.BlockFor(10 * time.Second) // a shorter block never shortens the first
	if got := b.Remaining(); got != 0 {
		t.Fatalf("Remaining while blocked = %d, want 0", got)
	}
	clk.Step(10 * time.Second)
	err := b.Acquire(context.Background())
	if ClassOf(err) != ClassRateLimited || RetryAfterOf(err) != 20*time.Second {
		t.Fatalf("got %v (retry after %s), want RateLimited for 20s", err, RetryAfterOf(err))
	}
	clk.Step(20 * time.Second)
	mustAcquire(t, b, 1)
	if got := b.Remaining(); got != 98 {
		t.Fatalf("Remaining after block = %d, want 98", got)
	}
}

func TestBudgetConcurrentAcquireAdmitsExactlyTheLimit(t *testing.T) {
	clk := newFakeClock()
	b := newTestBudget(50, clk)
	var ok, limited atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := b.Acquire(context.Background()); {
			case err == nil:
				ok.Add(1)
			case ClassOf(err) == ClassRateLimited:
				limited.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 50 || limited.Load() != 150 {
		t.Fatalf("admitted %d, limited %d; want 50 and 150", ok.Load(), limited.Load())
	}
}

func TestBudgetMemoryStaysBounded(t *testing.T) {
	clk := newFakeClock()
	b := newTestBudget(10, clk)
	for i := 0; i < 10000; i++ {
		mustAcquire(t, b, 1)
		clk.Step(31 * time.Second) // 10 per 5m: always a slot
	}
	if n := len(b.stamps); n > 40 {
		t.Fatalf("budget holds %d stamps for a limit of 10", n)
	}
}
