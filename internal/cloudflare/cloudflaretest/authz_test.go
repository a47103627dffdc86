package cloudflaretest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	cloudflare "github.com/cloudflare/cloudflare-go/v7"
	"github.com/cloudflare/cloudflare-go/v7/accounts"
	"github.com/cloudflare/cloudflare-go/v7/shared"
	"github.com/cloudflare/cloudflare-go/v7/user"
	"github.com/cloudflare/cloudflare-go/v7/zones"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

func TestZoneScopedTokenIsRefusedOnAnotherZone(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	com, org := srv.ZoneID("example.com"), srv.ZoneID("example.org")
	_, value := mintUserToken(t, srv, "one zone",
		userPolicy("allow", []string{cloudflaretest.PermZoneRead, cloudflaretest.PermDNSRead}, map[string]string{zoneKey(com): "*"}))
	c := client(srv, value)

	z, err := c.Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(com)})
	if err != nil || z.Name != "example.com" {
		t.Fatalf("own zone: %v %+v", err, z)
	}
	_, err = c.Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(org)})
	wantCFError(t, err, http.StatusForbidden, 10000)

	// A name filter shows only what the token may read; the other zone is simply not there.
	page, err := c.Zones.List(ctx, zones.ZoneListParams{Name: cloudflare.F("example.org")})
	if err != nil || len(page.Result) != 0 {
		t.Fatalf("list other zone by name: %v %d", err, len(page.Result))
	}
	page, err = c.Zones.List(ctx, zones.ZoneListParams{Name: cloudflare.F("example.com")})
	if err != nil || len(page.Result) != 1 || page.Result[0].ID != com || page.Result[0].Account.ID != srv.AccountID() {
		t.Fatalf("list own zone by name: %v %+v", err, page)
	}
	// Without account-wide zone rights an unfiltered list is refused: 403, code 0, naming the permission.
	_, err = c.Zones.List(ctx, zones.ZoneListParams{})
	e := asCFError(t, err, http.StatusForbidden, 0)
	if !strings.Contains(e.Errors[0].Message, "requires permission 'com.cloudflare.api.account.zone.list'") {
		t.Fatalf("zone list refusal: %q", e.Errors[0].Message)
	}
}

func TestAccountWideZoneReadListsAllZonesOfTheAccount(t *testing.T) {
	srv := newServer(t, cloudflaretest.WithAccounts("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
		cloudflaretest.WithZones("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "a.example", "b.example"),
		cloudflaretest.WithZones("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "c.example"))
	ctx := context.Background()
	// Nested form: all zones of account a only.
	nested := shared.TokenPolicyParam{
		Effect:           cloudflare.F(shared.TokenPolicyEffectAllow),
		PermissionGroups: cloudflare.F([]shared.TokenPolicyPermissionGroupParam{{ID: cloudflare.F(cloudflaretest.PermZoneRead)}}),
		Resources: cloudflare.F[shared.TokenPolicyResourcesUnionParam](shared.TokenPolicyResourcesIAMResourcesTypeObjectNestedParam{
			accountKey("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"): {"com.cloudflare.api.account.zone.*": "*"}}),
	}
	_, value := mintUserToken(t, srv, "account a", nested)
	var names []string
	iter := client(srv, value).Zones.ListAutoPaging(ctx, zones.ZoneListParams{PerPage: cloudflare.F(5.0)})
	for iter.Next() {
		names = append(names, iter.Current().Name)
	}
	if err := iter.Err(); err != nil || len(names) != 2 || names[0] != "a.example" || names[1] != "b.example" {
		t.Fatalf("zones of account a: %v %v", err, names)
	}
	_, err := client(srv, value).Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(srv.ZoneID("c.example"))})
	wantCFError(t, err, http.StatusForbidden, 10000)

	// Wildcard: every zone.
	_, all := mintUserToken(t, srv, "all zones",
		userPolicy("allow", []string{cloudflaretest.PermZoneRead}, map[string]string{"com.cloudflare.api.account.zone.*": "*"}))
	page, err := client(srv, all).Zones.List(ctx, zones.ZoneListParams{})
	if err != nil || len(page.Result) != 3 {
		t.Fatalf("wildcard: %v %+v", err, page)
	}
}

func TestDenyBeatsAllow(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	com, org := srv.ZoneID("example.com"), srv.ZoneID("example.org")
	_, value := mintUserToken(t, srv, "deny org",
		userPolicy("allow", []string{cloudflaretest.PermZoneRead}, map[string]string{"com.cloudflare.api.account.zone.*": "*"}),
		userPolicy("deny", []string{cloudflaretest.PermZoneRead}, map[string]string{zoneKey(org): "*"}))
	c := client(srv, value)
	if _, err := c.Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(com)}); err != nil {
		t.Fatalf("allowed zone: %v", err)
	}
	_, err := c.Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(org)})
	wantCFError(t, err, http.StatusForbidden, 10000)
}

func TestCreateNeedsAPITokensWrite(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	com := srv.ZoneID("example.com")
	_, readOnly := srv.Seed(cloudflaretest.SeedToken{Name: "no token rights", Policies: []cloudflaretest.Policy{
		{Effect: "allow", PermissionGroupIDs: []string{cloudflaretest.PermZoneRead}, Resources: map[string]any{zoneKey(com): "*"}}}})
	_, err := client(srv, readOnly).User.Tokens.New(ctx, user.TokenNewParams{Name: cloudflare.F("x"),
		Policies: cloudflare.F([]shared.TokenPolicyParam{userPolicy("allow", []string{cloudflaretest.PermZoneRead}, map[string]string{zoneKey(com): "*"})})})
	wantCFError(t, err, http.StatusForbidden, 9109)

	// The user parent may mint user tokens (cfut_) but holds no "Account API Tokens Write".
	_, err = client(srv, srv.UserParentToken()).Accounts.Tokens.New(ctx, accounts.TokenNewParams{AccountID: cloudflare.F(srv.AccountID()),
		Name: cloudflare.F("x"), Policies: cloudflare.F([]shared.TokenPolicyParam{userPolicy("allow", []string{cloudflaretest.PermZoneRead}, map[string]string{zoneKey(com): "*"})})})
	wantCFError(t, err, http.StatusForbidden, 9109)

	// The account parent mints account-owned tokens (cfat_), which verify on the account path only.
	acct := client(srv, srv.AccountParentToken(srv.AccountID()))
	res, err := acct.Accounts.Tokens.New(ctx, accounts.TokenNewParams{AccountID: cloudflare.F(srv.AccountID()),
		Name: cloudflare.F("acct dns"), Policies: cloudflare.F([]shared.TokenPolicyParam{userPolicy("allow", []string{cloudflaretest.PermZoneRead}, map[string]string{zoneKey(com): "*"})})})
	if err != nil || len(res.Value) != 53 || res.Value[:5] != "cfat_" {
		t.Fatalf("account create: %v %q", err, res)
	}
	child := client(srv, res.Value)
	if v, err := child.Accounts.Tokens.Verify(ctx, accounts.TokenVerifyParams{AccountID: cloudflare.F(srv.AccountID())}); err != nil || v.ID != res.ID {
		t.Fatalf("account verify: %v", err)
	}
	_, err = child.User.Tokens.Verify(ctx)
	wantCFError(t, err, http.StatusUnauthorized, 1000)

	// A user-scoped permission group cannot go into an account-owned token.
	_, err = acct.Accounts.Tokens.New(ctx, accounts.TokenNewParams{AccountID: cloudflare.F(srv.AccountID()),
		Name: cloudflare.F("escalate"), Policies: cloudflare.F([]shared.TokenPolicyParam{userPolicy("allow", []string{cloudflaretest.PermAPITokensWrite}, map[string]string{"com.cloudflare.api.user." + srv.UserTag(): "*"})})})
	wantCFError(t, err, http.StatusBadRequest, 6002)

	u, err := client(srv, srv.UserParentToken()).User.Tokens.New(ctx, user.TokenNewParams{Name: cloudflare.F("u"),
		Policies: cloudflare.F([]shared.TokenPolicyParam{userPolicy("allow", []string{cloudflaretest.PermZoneRead}, map[string]string{zoneKey(com): "*"})})})
	if err != nil || u.Value[:5] != "cfut_" {
		t.Fatalf("user create: %v", err)
	}
}

func TestCreateValidatesTheBody(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	c := client(srv, srv.UserParentToken())
	com := srv.ZoneID("example.com")
	good := []shared.TokenPolicyParam{userPolicy("allow", []string{cloudflaretest.PermZoneRead}, map[string]string{zoneKey(com): "*"})}
	long := make([]byte, 121)
	for i := range long {
		long[i] = 'a'
	}
	cases := map[string]user.TokenNewParams{
		"name too long":         {Name: cloudflare.F(string(long)), Policies: cloudflare.F(good)},
		"no policies":           {Name: cloudflare.F("x"), Policies: cloudflare.F([]shared.TokenPolicyParam{})},
		"unknown group":         {Name: cloudflare.F("x"), Policies: cloudflare.F([]shared.TokenPolicyParam{userPolicy("allow", []string{"ffffffffffffffffffffffffffffffff"}, map[string]string{zoneKey(com): "*"})})},
		"unknown zone":          {Name: cloudflare.F("x"), Policies: cloudflare.F([]shared.TokenPolicyParam{userPolicy("allow", []string{cloudflaretest.PermZoneRead}, map[string]string{zoneKey("0000"): "*"})})},
		"zone group on account": {Name: cloudflare.F("x"), Policies: cloudflare.F([]shared.TokenPolicyParam{userPolicy("allow", []string{cloudflaretest.PermDNSWrite}, map[string]string{accountKey(srv.AccountID()): "*"})})},
		"bad cidr": {Name: cloudflare.F("x"), Policies: cloudflare.F(good), Condition: cloudflare.F(user.TokenNewParamsCondition{
			RequestIP: cloudflare.F(user.TokenNewParamsConditionRequestIP{In: cloudflare.F([]string{"not-an-ip"})})})},
	}
	before := len(srv.Tokens())
	for name, params := range cases {
		_, err := c.User.Tokens.New(ctx, params)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		wantCFError(t, err, http.StatusBadRequest, 6002)
	}
	if n := len(srv.Tokens()); n != before {
		t.Fatalf("refused creates left tokens: %d -> %d", before, n)
	}
	res, err := c.User.Tokens.New(ctx, user.TokenNewParams{Name: cloudflare.F(string(long[:120])), Policies: cloudflare.F(good)})
	if err != nil || res.Name != string(long[:120]) || res.Status != "active" || len(res.Policies) != 1 || res.Policies[0].ID == "" {
		t.Fatalf("120-character name: %v %+v", err, res)
	}
}
