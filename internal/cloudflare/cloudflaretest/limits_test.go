package cloudflaretest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	cloudflare "github.com/cloudflare/cloudflare-go/v7"
	"github.com/cloudflare/cloudflare-go/v7/accounts"
	"github.com/cloudflare/cloudflare-go/v7/user"
	"github.com/cloudflare/cloudflare-go/v7/zones"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

func TestRateLimitBitesAtTheConfiguredNumber(t *testing.T) {
	clk := newClock()
	srv := newServer(t, cloudflaretest.WithRateLimit(10, time.Minute), cloudflaretest.WithClock(clk.Now))
	ctx := context.Background()
	c := client(srv, srv.UserParentToken())
	get := func() error {
		_, err := c.Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(srv.ZoneID("example.com"))})
		return err
	}
	for i := range 10 {
		if err := get(); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	e := asCFError(t, get(), http.StatusTooManyRequests, 971)
	if ra := e.Response.Header.Get("Retry-After"); ra != "60" {
		t.Fatalf("Retry-After %q, want 60", ra)
	}
	// Blocked for the whole window, even after the sliding window would have room again.
	clk.Step(30 * time.Second)
	e = asCFError(t, get(), http.StatusTooManyRequests, 971)
	if ra := e.Response.Header.Get("Retry-After"); ra != "30" {
		t.Fatalf("Retry-After %q, want 30", ra)
	}
	// An account-owned token has its own budget.
	if _, err := client(srv, srv.AccountParentToken(srv.AccountID())).Accounts.Tokens.Verify(ctx,
		accounts.TokenVerifyParams{AccountID: cloudflare.F(srv.AccountID())}); err != nil {
		t.Fatalf("other credential: %v", err)
	}
	clk.Step(31 * time.Second)
	if err := get(); err != nil {
		t.Fatalf("after the block: %v", err)
	}
	if n := srv.RequestCounts()["GET /zones/{zone_id} 429"]; n != 2 {
		t.Fatalf("429s counted %d, want 2", n)
	}
	if peak := srv.MaxRequestsInWindow(5 * time.Minute); peak != 14 {
		t.Fatalf("max in window %d, want 14", peak)
	}
	if peak := srv.MaxRequestsInWindow(time.Second); peak != 11 {
		t.Fatalf("max in a second %d, want 11 (same fake instant)", peak)
	}
}

func TestFaults(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	c := client(srv, srv.UserParentToken())
	newTok := func(name string) (*user.TokenNewResponse, error) {
		return c.User.Tokens.New(ctx, user.TokenNewParams{Name: cloudflare.F(name), Policies: cloudflare.F([]sharedPolicy{userPolicyZoneRead(srv)})})
	}

	// Lost answer: committed, answered 500.
	srv.LoseCreateAnswers(1)
	_, err := newTok("lost")
	wantCFError(t, err, http.StatusInternalServerError, 10001)
	found := false
	for _, tok := range srv.Tokens() {
		found = found || tok.Name == "lost"
	}
	if !found {
		t.Fatal("lost create did not commit the token")
	}
	if _, err := newTok("answered"); err != nil {
		t.Fatalf("next create: %v", err)
	}

	srv.SetServerErrorRatio(1)
	_, err = c.User.Tokens.Verify(ctx)
	wantCFError(t, err, http.StatusInternalServerError, 10001)
	srv.SetServerErrorRatio(0)

	srv.SetRateLimitStorm(true)
	_, err = c.User.Tokens.Verify(ctx)
	if e := asCFError(t, err, http.StatusTooManyRequests, 971); e.Response.Header.Get("Retry-After") == "" {
		t.Fatal("storm 429 without Retry-After")
	}
	srv.SetRateLimitStorm(false)

	srv.SetLatency(50 * time.Millisecond)
	start := time.Now()
	if _, err := c.User.Tokens.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	srv.SetLatency(0)

	counts := srv.RequestCounts()
	if counts["POST /user/tokens 500"] != 1 || counts["POST /user/tokens 200"] != 1 || counts["GET /user/tokens/verify 429"] != 1 {
		t.Fatalf("counts %v", counts)
	}
	if srv.TotalRequests() != 5 {
		t.Fatalf("total %d, want 5", srv.TotalRequests())
	}
	srv.ResetCounts()
	if srv.TotalRequests() != 0 || len(srv.RequestCounts()) != 0 {
		t.Fatal("ResetCounts left counts")
	}
}

// The SDK retries 429 and 5xx by itself; with retries on, a storm costs several requests per call.
func TestSDKRetriesAreVisibleInCounts(t *testing.T) {
	srv := newServer(t)
	srv.SetServerErrorRatio(1)
	c := cloudflare.NewClient(optionToken(srv.UserParentToken()), optionBase(srv.URL()), optionRetries(2))
	_, err := c.User.Tokens.Verify(context.Background())
	var cfErr *cloudflare.Error
	if !errors.As(err, &cfErr) || srv.RequestCount("GET", "/user/tokens/verify") != 3 {
		t.Fatalf("want 3 attempts, got %d (%v)", srv.RequestCount("GET", "/user/tokens/verify"), err)
	}
}
