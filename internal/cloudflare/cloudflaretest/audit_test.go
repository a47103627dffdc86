package cloudflaretest_test

// The rows of cloudflare-api.md's second audit, each through the SDK (or on the wire where the SDK cannot
// express it).

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudflare "github.com/cloudflare/cloudflare-go/v7"
	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/shared"
	"github.com/cloudflare/cloudflare-go/v7/user"
	"github.com/cloudflare/cloudflare-go/v7/zones"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

// exampleZone is the zone list a consumer makes first.
func exampleZone() zones.ZoneListParams {
	return zones.ZoneListParams{Name: cloudflare.F("example.com")}
}

func zoneReadPolicy(srv *cloudflaretest.Server) sharedPolicy {
	return userPolicy("allow", []string{cloudflaretest.PermZoneRead}, map[string]string{zoneKey(srv.ZoneID("example.com")): "*"})
}

func TestDeadCredentialShapes(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	id, value := mintUserToken(t, srv, "dead", zoneReadPolicy(srv))
	srv.RevokeOutOfBand(id)
	_, err := client(srv, value).Zones.List(ctx, exampleZone())
	wantCFError(t, err, http.StatusUnauthorized, 1000)

	srv.SetDeadCredential(cloudflaretest.DeadCredential403)
	_, err = client(srv, value).Zones.List(ctx, exampleZone())
	wantCFError(t, err, http.StatusForbidden, 10000)
	// Verify still tells a dead credential from a missing permission.
	_, err = client(srv, value).User.Tokens.Verify(ctx)
	wantCFError(t, err, http.StatusUnauthorized, 1000)
}

func TestPolicyIDOnCreateIsRefused(t *testing.T) {
	srv := newServer(t)
	pol := `"policies":[{%s"effect":"allow","permission_groups":[{"id":"` + cloudflaretest.PermZoneRead +
		`"}],"resources":{"` + zoneKey(srv.ZoneID("example.com")) + `":"*"}}]`
	r := raw(t, "POST", srv.URL()+"/user/tokens", srv.UserParentToken(),
		`{"name":"reuse",`+fmt.Sprintf(pol, `"id":"f267e341f3dd4697bd3b9f71dd96247f",`)+`}`)
	if r.status != http.StatusBadRequest || r.Errors[0].Code != 1001 {
		t.Fatalf("policy id on create: HTTP %d %+v", r.status, r.Errors)
	}
	id, _ := mintUserToken(t, srv, "update", zoneReadPolicy(srv))
	// An update names the policies it keeps: ids are fine there.
	r = raw(t, "PUT", srv.URL()+"/user/tokens/"+id, srv.UserParentToken(),
		`{"name":"update",`+fmt.Sprintf(pol, `"id":"f267e341f3dd4697bd3b9f71dd96247f",`)+`}`)
	if r.status != http.StatusOK {
		t.Fatalf("policy id on update: HTTP %d %+v", r.status, r.Errors)
	}
}

func TestRequestIPMustBeCIDR(t *testing.T) {
	srv := newServer(t)
	c := client(srv, srv.UserParentToken())
	for _, tc := range []struct {
		ip string
		ok bool
	}{{"203.0.113.7", false}, {"2001:db8::1", false}, {"203.0.113.7/32", true}, {"2001:db8::/48", true}} {
		_, err := c.User.Tokens.New(context.Background(), user.TokenNewParams{Name: cloudflare.F("ip " + tc.ip),
			Policies: cloudflare.F([]sharedPolicy{zoneReadPolicy(srv)}),
			Condition: cloudflare.F(user.TokenNewParamsCondition{RequestIP: cloudflare.F(user.TokenNewParamsConditionRequestIP{
				In: cloudflare.F([]string{tc.ip})})})})
		if tc.ok && err != nil {
			t.Fatalf("%s: %v", tc.ip, err)
		}
		if !tc.ok {
			e := asCFError(t, err, http.StatusBadRequest, 6002)
			if !strings.Contains(e.Errors[0].Message, "CIDR notation") {
				t.Fatalf("%s: %q", tc.ip, e.Errors[0].Message)
			}
		}
	}
}

func TestGlobalKeyFormats(t *testing.T) {
	srv := newServer(t, cloudflaretest.WithScannableGlobalKey())
	key, email := srv.GlobalAPIKey()
	if !strings.HasPrefix(key, "cfk_") {
		t.Fatalf("key %q is not a cfk_ key", key[:4])
	}
	if _, err := keyClient(srv, key, email).User.Get(context.Background()); err != nil {
		t.Fatalf("cfk_ key: %v", err)
	}
	// Older keys are 37 to 45 hex digits: a well-formed wrong one is unknown (9103), not malformed (6003).
	_, err := keyClient(srv, strings.Repeat("a", 45), email).User.Get(context.Background())
	wantCFError(t, err, http.StatusForbidden, 9103)
}

func TestExposedTokenIsDeadButStillExists(t *testing.T) {
	srv := newServer(t, cloudflaretest.WithUserTokenQuota(3)) // the parent and two more
	ctx := context.Background()
	parent := client(srv, srv.UserParentToken())
	id, value := mintUserToken(t, srv, "leaked", zoneReadPolicy(srv))
	mintUserToken(t, srv, "other", zoneReadPolicy(srv))
	srv.ExposeOutOfBand(id)

	_, err := client(srv, value).User.Tokens.Verify(ctx)
	wantCFError(t, err, http.StatusUnauthorized, 1000)
	got, err := parent.User.Tokens.Get(ctx, id)
	if err != nil || got.Status != "revoked (exposed)" {
		t.Fatalf("status: %v %q", err, got.Status)
	}
	page, err := parent.User.Tokens.List(ctx, user.TokenListParams{})
	if err != nil || !listed(page.Result, id) {
		t.Fatalf("an exposed token is still listed: %v", err)
	}
	// It still counts against the quota.
	_, err = parent.User.Tokens.New(ctx, user.TokenNewParams{Name: cloudflare.F("third"), Policies: cloudflare.F([]sharedPolicy{zoneReadPolicy(srv)})})
	wantCFError(t, err, http.StatusBadRequest, 1005)
	if _, err := parent.User.Tokens.Delete(ctx, id); err != nil {
		t.Fatalf("delete exposed: %v", err)
	}
}

func listed(items []shared.Token, id string) bool {
	for _, it := range items {
		if it.ID == id {
			return true
		}
	}
	return false
}

func TestIncludeExpiredListsOnlyRecentlyExpiredTokens(t *testing.T) {
	clk := newClock()
	srv := newServer(t, cloudflaretest.WithClock(clk.Now), cloudflaretest.WithRecentlyExpired(24*time.Hour))
	ctx := context.Background()
	expires := clk.Now().Add(time.Hour)
	id, _ := srv.Seed(cloudflaretest.SeedToken{Name: "short", ExpiresOn: &expires, Policies: []cloudflaretest.Policy{{
		Effect: "allow", PermissionGroupIDs: []string{cloudflaretest.PermZoneRead}, Resources: map[string]any{zoneKey("*"): "*"}}}})
	parent := client(srv, srv.UserParentToken())
	list := func(include bool) bool {
		t.Helper()
		p := user.TokenListParams{}
		if include {
			p.IncludeExpired = cloudflare.F(true)
		}
		page, err := parent.User.Tokens.List(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return listed(page.Result, id)
	}
	if !list(false) || !list(true) {
		t.Fatal("an active token is listed either way")
	}
	clk.Step(2 * time.Hour)
	if list(false) || !list(true) {
		t.Fatalf("recently expired: listed without the flag %v, with it %v; want false, true", list(false), list(true))
	}
	clk.Step(48 * time.Hour)
	if list(true) {
		t.Fatal("a token expired two days ago is listed with include_expired")
	}
	if got, err := parent.User.Tokens.Get(ctx, id); err != nil || got.Status != "expired" {
		t.Fatalf("it still exists: %v %q", err, got.Status)
	}
}

func TestLastUsedOnIsRecorded(t *testing.T) {
	clk := newClock()
	srv := newServer(t, cloudflaretest.WithClock(clk.Now))
	ctx := context.Background()
	id, value := mintUserToken(t, srv, "used", zoneReadPolicy(srv))
	parent := client(srv, srv.UserParentToken())
	if got, _ := parent.User.Tokens.Get(ctx, id); !got.LastUsedOn.IsZero() {
		t.Fatalf("never used, but last_used_on = %s", got.LastUsedOn)
	}
	clk.Step(time.Minute)
	if _, err := client(srv, value).Zones.List(ctx, exampleZone()); err != nil {
		t.Fatal(err)
	}
	got, err := parent.User.Tokens.Get(ctx, id)
	if err != nil || !got.LastUsedOn.Equal(clk.Now()) {
		t.Fatalf("last_used_on = %s, want %s (%v)", got.LastUsedOn, clk.Now(), err)
	}
	if info, _ := srv.Token(id); info.LastUsedOn == nil || !info.LastUsedOn.Equal(clk.Now()) {
		t.Fatalf("TokenInfo.LastUsedOn = %v", info.LastUsedOn)
	}
}

// Every answer carries Ratelimit and Ratelimit-Policy, and the user's bucket is shared by the tokens the
// user minted: a child's requests lower what the parent is told is left.
func TestRatelimitHeadersAndTheSharedUserBucket(t *testing.T) {
	clk := newClock()
	srv := newServer(t, cloudflaretest.WithClock(clk.Now), cloudflaretest.WithRateLimit(10, time.Minute))
	ctx := context.Background()
	var res *http.Response
	parent := client(srv, srv.UserParentToken())
	if _, err := parent.User.Tokens.Verify(ctx, option.WithResponseInto(&res)); err != nil {
		t.Fatal(err)
	}
	if got := res.Header.Get("Ratelimit-Policy"); got != `"default";q=10;w=60` {
		t.Fatalf("Ratelimit-Policy %q", got)
	}
	if got := res.Header.Get("Ratelimit"); got != `"default";r=9;t=60` {
		t.Fatalf("Ratelimit %q after one request", got)
	}
	_, child := mintUserToken(t, srv, "child", zoneReadPolicy(srv)) // the parent's second request
	clk.Step(10 * time.Second)
	for range 3 {
		if _, err := client(srv, child).Zones.List(ctx, exampleZone()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := parent.User.Tokens.Verify(ctx, option.WithResponseInto(&res)); err != nil {
		t.Fatal(err)
	}
	// 1 + 1 + 3 + 1 requests: 4 left; the first leaves the window 50 s from now.
	if got := res.Header.Get("Ratelimit"); got != `"default";r=4;t=50` {
		t.Fatalf("Ratelimit %q after the child's requests", got)
	}
	for range 4 {
		_, _ = client(srv, child).Zones.List(ctx, exampleZone())
	}
	_, err := parent.User.Tokens.Verify(ctx, option.WithResponseInto(&res))
	wantCFError(t, err, http.StatusTooManyRequests, 971)
	if got := res.Header.Get("Ratelimit"); got != `"default";r=0;t=60` {
		t.Fatalf("Ratelimit %q on a 429", got)
	}
}
