package cloudflaretest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	cloudflare "github.com/cloudflare/cloudflare-go/v7"
	"github.com/cloudflare/cloudflare-go/v7/accounts"
	"github.com/cloudflare/cloudflare-go/v7/user"
	"github.com/cloudflare/cloudflare-go/v7/zones"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

func TestListAutoPagingReturnsEveryTokenOnce(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	want := map[string]bool{}
	for _, tok := range srv.Tokens() {
		if tok.Owner == "User" {
			want[tok.ID] = true
		}
	}
	for i := range 47 {
		id, _ := mintUserToken(t, srv, fmt.Sprintf("t-%02d", i), userPolicyZoneRead(srv))
		want[id] = true
	}
	c := client(srv, srv.UserParentToken())
	seen := map[string]int{}
	iter := c.User.Tokens.ListAutoPaging(ctx, user.TokenListParams{PerPage: cloudflare.F(10.0)})
	for iter.Next() {
		seen[iter.Current().ID]++
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(want) || len(want) != 48 {
		t.Fatalf("saw %d distinct tokens, want %d (47 + parent)", len(seen), len(want))
	}
	for id, n := range seen {
		if n != 1 || !want[id] {
			t.Fatalf("token %s seen %d times (known %v)", id, n, want[id])
		}
	}
	// 48 tokens at 10 a page: pages 1..5 hold them, page 6 is the empty page that ends the pager.
	if got := srv.RequestCount("GET", "/user/tokens"); got != 6 {
		t.Fatalf("list requests %d, want 6", got)
	}
	page, err := c.User.Tokens.List(ctx, user.TokenListParams{Page: cloudflare.F(2.0), PerPage: cloudflare.F(20.0)})
	if err != nil || len(page.Result) != 20 || page.ResultInfo.Page != 2 || page.ResultInfo.PerPage != 20 || !strings.Contains(page.JSON.RawJSON(), `"total_count":48`) {
		t.Fatalf("page 2: %v %+v", err, page.ResultInfo)
	}
	_, err = c.User.Tokens.List(ctx, user.TokenListParams{PerPage: cloudflare.F(51.0)})
	wantCFError(t, err, http.StatusBadRequest, 6002)
}

func TestQuotasBite(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	// The parent counts: the user holds 1 token, so 49 more fit.
	for i := range 49 {
		mintUserToken(t, srv, fmt.Sprintf("u-%d", i), userPolicyZoneRead(srv))
	}
	_, err := client(srv, srv.UserParentToken()).User.Tokens.New(ctx, user.TokenNewParams{Name: cloudflare.F("one too many"),
		Policies: cloudflare.F([]sharedPolicy{userPolicyZoneRead(srv)})})
	wantCFError(t, err, http.StatusBadRequest, 1005)

	acct := srv.AccountID()
	ac := client(srv, srv.AccountParentToken(acct))
	newAcct := func(name string) error {
		_, err := ac.Accounts.Tokens.New(ctx, accounts.TokenNewParams{AccountID: cloudflare.F(acct), Name: cloudflare.F(name),
			Policies: cloudflare.F([]sharedPolicy{userPolicyZoneRead(srv)})})
		return err
	}
	for i := range 499 {
		if err := newAcct(fmt.Sprintf("a-%d", i)); err != nil {
			t.Fatalf("account token %d: %v", i, err)
		}
	}
	wantCFError(t, newAcct("one too many"), http.StatusBadRequest, 1005)
	// Deleting frees a slot.
	list, err := ac.Accounts.Tokens.List(ctx, accounts.TokenListParams{AccountID: cloudflare.F(acct), PerPage: cloudflare.F(50.0), Page: cloudflare.F(10.0)})
	if err != nil || len(list.Result) != 50 {
		t.Fatalf("last page: %v", err)
	}
	if _, err := ac.Accounts.Tokens.Delete(ctx, list.Result[49].ID, accounts.TokenDeleteParams{AccountID: cloudflare.F(acct)}); err != nil {
		t.Fatal(err)
	}
	if err := newAcct("fits again"); err != nil {
		t.Fatalf("after delete: %v", err)
	}
}

func TestRollInvalidatesTheOldValue(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	id, old := mintUserToken(t, srv, "rolled", userPolicyZoneRead(srv))
	parent := client(srv, srv.UserParentToken())
	nv, err := parent.User.Tokens.Value.Update(ctx, id, user.TokenValueUpdateParams{Body: map[string]any{}})
	if err != nil || *nv == old || len(*nv) != 53 {
		t.Fatalf("roll: %v", err)
	}
	_, err = client(srv, old).Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(srv.ZoneID("example.com"))})
	wantCFError(t, err, http.StatusUnauthorized, 1000)
	if _, err := client(srv, *nv).Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(srv.ZoneID("example.com"))}); err != nil {
		t.Fatalf("new value: %v", err)
	}
	if srv.TokenValue(id) != *nv {
		t.Fatal("TokenValue is not the rolled value")
	}
	all := srv.AllTokenValues()
	if !containsStr(all, old) || !containsStr(all, *nv) || !containsStr(all, srv.UserParentToken()) {
		t.Fatal("AllTokenValues misses a minted value")
	}
}

func TestUpdateIsAFullReplace(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	id, value := mintUserToken(t, srv, "before", userPolicyZoneRead(srv))
	parent := client(srv, srv.UserParentToken())
	org := srv.ZoneID("example.org")
	tok, err := parent.User.Tokens.Update(ctx, id, user.TokenUpdateParams{Token: sharedToken("after",
		userPolicy("allow", []string{cloudflaretest.PermZoneRead}, map[string]string{zoneKey(org): "*"}))})
	if err != nil || tok.Name != "after" || len(tok.Policies) != 1 {
		t.Fatalf("update: %v %+v", err, tok)
	}
	c := client(srv, value)
	_, err = c.Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(srv.ZoneID("example.com"))})
	wantCFError(t, err, http.StatusForbidden, 10000)
	if _, err := c.Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(org)}); err != nil {
		t.Fatalf("replaced policy: %v", err)
	}
	if _, err := parent.User.Tokens.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err = parent.User.Tokens.Delete(ctx, id)
	wantCFError(t, err, http.StatusNotFound, 1000)
}

func TestPermissionGroupsFilterByNameAndScope(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	c := client(srv, srv.UserParentToken())
	for _, name := range []string{"Logs Read", "Logs Write", "Page Shield Read", "Page Shield Write", "Transform Rules Read",
		"Transform Rules Write", "API Gateway Read", "API Gateway Write"} {
		both, err := c.User.Tokens.PermissionGroups.List(ctx, user.TokenPermissionGroupListParams{Name: cloudflare.F(name)})
		if err != nil || len(both.Result) != 2 || both.Result[0].ID == both.Result[1].ID {
			t.Fatalf("%s at two scopes: %v %+v", name, err, both)
		}
	}
	zone, err := c.User.Tokens.PermissionGroups.List(ctx, user.TokenPermissionGroupListParams{Name: cloudflare.F("Logs Read"),
		Scope: cloudflare.F(cloudflaretest.ScopeZone)})
	if err != nil || len(zone.Result) != 1 || zone.Result[0].ID != cloudflaretest.PermZoneLogsRead {
		t.Fatalf("name+scope: %v %+v", err, zone)
	}
	// Corrected by the second audit: the account-scoped analytics group has its own name, and Account API
	// Tokens Read its real id.
	for name, id := range map[string]string{"Analytics Read": cloudflaretest.PermZoneAnalyticsRead,
		"Account Analytics Read":  cloudflaretest.PermAccountAnalyticsRead,
		"Account API Tokens Read": "eb56a6953c034b9d97dd838155666f06", "Account API Tokens Write": "5bc3f8b21c554832afc660159ab75fa4"} {
		one, err := c.User.Tokens.PermissionGroups.List(ctx, user.TokenPermissionGroupListParams{Name: cloudflare.F(name)})
		if err != nil || len(one.Result) != 1 || one.Result[0].ID != id {
			t.Fatalf("%s: %v %+v", name, err, one)
		}
	}
	dns, err := c.User.Tokens.PermissionGroups.List(ctx, user.TokenPermissionGroupListParams{Name: cloudflare.F("DNS Write")})
	if err != nil || len(dns.Result) != 1 || dns.Result[0].ID != "4755a26eedb94da69e1066d98aa820be" || string(dns.Result[0].Scopes[0]) != cloudflaretest.ScopeZone {
		t.Fatalf("DNS Write: %v %+v", err, dns)
	}
	acct, err := c.User.Tokens.PermissionGroups.List(ctx, user.TokenPermissionGroupListParams{Scope: cloudflare.F(cloudflaretest.ScopeAccount)})
	if err != nil || len(acct.Result) < 5 {
		t.Fatalf("account scope: %v", err)
	}
	for _, g := range acct.Result {
		if len(g.Scopes) != 1 || string(g.Scopes[0]) != cloudflaretest.ScopeAccount {
			t.Fatalf("scope filter let %q through", g.Name)
		}
	}
}

func TestConcurrentClients(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client(srv, srv.UserParentToken())
			for i := range 5 {
				res, err := c.User.Tokens.New(ctx, user.TokenNewParams{Name: cloudflare.F(fmt.Sprintf("w%d-%d", w, i)),
					Policies: cloudflare.F([]sharedPolicy{userPolicyZoneRead(srv)})})
				if err != nil {
					errs <- err
					return
				}
				if _, err := client(srv, res.Value).Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(srv.ZoneID("example.com"))}); err != nil {
					errs <- err
				}
				if _, err := c.User.Tokens.List(ctx, user.TokenListParams{}); err != nil {
					errs <- err
				}
				if _, err := c.User.Tokens.Delete(ctx, res.ID); err != nil {
					errs <- err
				}
				_ = srv.Tokens()
				_ = srv.RequestCounts()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(srv.Tokens()); n != 2 {
		t.Fatalf("%d tokens left, want the 2 parents", n)
	}
	if got := srv.RequestCount("POST", "/user/tokens"); got != 40 {
		t.Fatalf("creates counted %d, want 40", got)
	}
}

func containsStr(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
