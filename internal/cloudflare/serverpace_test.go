package cloudflare

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	cloudflaresdk "github.com/cloudflare/cloudflare-go/v7"
	"github.com/cloudflare/cloudflare-go/v7/option"
	sdkzones "github.com/cloudflare/cloudflare-go/v7/zones"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

func rateHeaders(r, t, q int) http.Header {
	h := http.Header{}
	h.Set("Ratelimit", `"default";r=`+strconv.Itoa(r)+`;t=`+strconv.Itoa(t))
	if q > 0 {
		h.Set("Ratelimit-Policy", `"default";q=`+strconv.Itoa(q)+`;w=300`)
	}
	return h
}

func TestParseRateLimitHeaders(t *testing.T) {
	cases := []struct {
		h     http.Header
		r, tt int
		ok    bool
	}{
		{http.Header{"Ratelimit": {`"default";r=50;t=30`}}, 50, 30, true},
		{http.Header{"Ratelimit": {`"default"; r=0 ; t=299, "other";r=9;t=1`}}, 0, 299, true},
		{http.Header{"Ratelimit": {`"default";t=30`}}, 0, 0, false},
		{http.Header{"Ratelimit": {`"default";r=-1;t=30`}}, 0, 0, false},
		{http.Header{"Ratelimit-Remaining": {"7"}, "Ratelimit-Reset": {"12"}}, 7, 12, true},
		{http.Header{}, 0, 0, false},
	}
	for _, tc := range cases {
		r, tt, ok := parseRateLimit(tc.h)
		if ok != tc.ok || (ok && (r != tc.r || tt != tc.tt)) {
			t.Errorf("%v: got %d %d %v, want %d %d %v", tc.h, r, tt, ok, tc.r, tc.tt, tc.ok)
		}
	}
	if q, ok := parsePolicyQuota(`"default";q=1200;w=300`); !ok || q != 1200 {
		t.Errorf("policy quota %d %v", q, ok)
	}
}

// What Cloudflare says is left, less the margin, is all that goes out until its reset; then the next answer
// decides again.
func TestBudgetPacesByTheServer(t *testing.T) {
	clk := newFakeClock()
	b := newTestBudget(1000, clk)
	b.ObserveServer(rateHeaders(30, 60, 1200), clk.Now()) // margin 1200/50 = 24: 6 may go out
	mustAcquire(t, b, 6)
	err := b.Acquire(context.Background())
	if ClassOf(err) != ClassRateLimited || RetryAfterOf(err) != time.Minute {
		t.Fatalf("7th request: %v (retry after %s), want RateLimited for 60s", err, RetryAfterOf(err))
	}
	if n, ok := b.ServerRemaining(); !ok || n != 24 {
		t.Fatalf("ServerRemaining = %d %v, want 24", n, ok)
	}
	clk.Step(time.Minute)
	mustAcquire(t, b, 1) // the reading has run out: the next answer brings a new one
	b.ObserveServer(rateHeaders(5, 10, 0), clk.Now())
	if err := b.Acquire(context.Background()); ClassOf(err) != ClassRateLimited {
		t.Fatalf("5 left is inside the minimum margin of %d: %v", minServerMargin, err)
	}
	// An answer without the headers changes nothing.
	if _, ok := b.ObserveServer(http.Header{}, clk.Now()); ok {
		t.Fatal("no headers, yet a reading")
	}
	if err := b.Acquire(context.Background()); ClassOf(err) != ClassRateLimited {
		t.Fatalf("the reading must stay in force: %v", err)
	}
}

func TestClientBudgetStaysTheCeiling(t *testing.T) {
	clk := newFakeClock()
	b := newTestBudget(3, clk)
	b.ObserveServer(rateHeaders(1000, 300, 1200), clk.Now())
	mustAcquire(t, b, 3)
	if err := b.Acquire(context.Background()); ClassOf(err) != ClassRateLimited {
		t.Fatalf("the server's 1000 must not lift the client's 3: %v", err)
	}
}

// Children of the parent (the tokens it minted, used by others) eat the same user bucket at the fake: the
// client sees it in the headers and stops short of a 429.
func TestChildrenTrafficStopsTheClientBeforeA429(t *testing.T) {
	fake := newFake(t, cloudflaretest.WithRateLimit(100, time.Minute))
	c := userClient(t, fake, FactoryOptions{})
	ctx := context.Background()
	tok, value, err := c.CreateToken(ctx, zoneReadSpec(fake, "child"))
	if err != nil {
		t.Fatal(err)
	}
	child := cloudflaresdk.NewClient(option.WithAPIToken(value.Reveal()), option.WithBaseURL(fake.URL()), option.WithMaxRetries(0))
	for i := range 80 {
		if _, err := child.Zones.List(ctx, sdkzones.ZoneListParams{Name: cloudflaresdk.F("example.com")}); err != nil {
			t.Fatalf("child request %d: %v", i, err)
		}
	}
	var sent int
	for ; sent < 100; sent++ {
		if _, err := c.GetToken(ctx, tok.ID); err != nil {
			if ClassOf(err) != ClassRateLimited {
				t.Fatalf("request %d: %v", sent, err)
			}
			break
		}
	}
	if n := fake.RequestCount("GET", "/user/tokens/{token_id}"); n != sent {
		t.Fatalf("%d gets reached the fake, %d succeeded", n, sent)
	}
	for k, v := range fake.RequestCounts() {
		if len(k) > 4 && k[len(k)-4:] == " 429" {
			t.Fatalf("%d answers of 429 (%s): the client did not pace by the server", v, k)
		}
	}
	// 1 create + 80 child requests left 19; the margin keeps 10 of them.
	if sent != 9 {
		t.Fatalf("the client made %d requests after the children's 80, want 9", sent)
	}
}
