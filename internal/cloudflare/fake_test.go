package cloudflare

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

// Integration tests against the in-memory fake (cloudflaretest): every request is a real HTTP exchange on
// loopback through the SDK.

func newFake(t *testing.T, opts ...cloudflaretest.Option) *cloudflaretest.Server {
	t.Helper()
	s := cloudflaretest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

func clientOf(t *testing.T, f Factory, cfg Config) Client {
	t.Helper()
	c, err := f.ClientFor(cfg)
	if err != nil {
		t.Fatalf("ClientFor: %v", err)
	}
	return c
}

func userClient(t *testing.T, fake *cloudflaretest.Server, fo FactoryOptions) Client {
	return clientOf(t, NewFactory(fo), Config{BaseURL: fake.URL(), Owner: OwnerUser,
		Credential: Credential{APIToken: NewSecret(fake.UserParentToken())}})
}

func accountClient(t *testing.T, fake *cloudflaretest.Server, fo FactoryOptions) Client {
	return clientOf(t, NewFactory(fo), Config{BaseURL: fake.URL(), Owner: OwnerAccount, AccountID: fake.AccountID(),
		Credential: Credential{APIToken: NewSecret(fake.AccountParentToken(fake.AccountID()))}})
}

// assertNoSecrets fails if err's text contains any token value the fake ever minted, or its global key.
func assertNoSecrets(t *testing.T, fake *cloudflaretest.Server, err error) {
	t.Helper()
	if err == nil {
		return
	}
	key, _ := fake.GlobalAPIKey()
	for _, v := range append(fake.AllTokenValues(), key) {
		if v != "" && strings.Contains(err.Error(), v) {
			t.Fatalf("error text contains a secret value: %s", err)
		}
	}
}

func TestFakeEnvironmentCannotOverrideConfig(t *testing.T) {
	fake := newFake(t)
	t.Setenv("CLOUDFLARE_API_TOKEN", "env-token")
	t.Setenv("CLOUDFLARE_API_KEY", "env-key")
	t.Setenv("CLOUDFLARE_EMAIL", "env@example.com")
	t.Setenv("CLOUDFLARE_BASE_URL", "http://127.0.0.1:1/client/v4")
	t.Setenv("CLOUDFLARE_CUSTOM_HEADERS", "X-Auth-Key: env-key")
	info, err := userClient(t, fake, FactoryOptions{}).Verify(context.Background())
	if err != nil || info.Status != StatusActive {
		t.Fatalf("Verify with CLOUDFLARE_* set: %+v, %v", info, err)
	}
}

func TestFakeVerifyEachCredentialKind(t *testing.T) {
	fake := newFake(t)
	ctx := context.Background()

	info, err := userClient(t, fake, FactoryOptions{}).Verify(ctx)
	if err != nil || info.Status != StatusActive || info.ID == "" {
		t.Fatalf("user token: %+v, %v", info, err)
	}
	if n := fake.RequestCount("GET", "/user/tokens/verify"); n != 1 {
		t.Fatalf("user verify calls = %d, want 1", n)
	}

	info, err = accountClient(t, fake, FactoryOptions{}).Verify(ctx)
	if err != nil || info.Status != StatusActive || info.ID == "" {
		t.Fatalf("account token: %+v, %v", info, err)
	}
	if n := fake.RequestCount("GET", "/accounts/{account_id}/tokens/verify"); n != 1 {
		t.Fatalf("account verify calls = %d, want 1 (%v)", n, fake.RequestCounts())
	}

	key, email := fake.GlobalAPIKey()
	kc := clientOf(t, NewFactory(FactoryOptions{}), Config{BaseURL: fake.URL(),
		Credential: Credential{APIKey: NewSecret(key), Email: email}})
	info, err = kc.Verify(ctx)
	if err != nil || info.Status != StatusActive || info.ExpiresOn != nil {
		t.Fatalf("global key: %+v, %v", info, err)
	}
	if n := fake.RequestCount("GET", "/user"); n != 1 {
		t.Fatalf("GET /user calls = %d, want 1", n)
	}
}

func TestFakeVerifyReportsParentExpiry(t *testing.T) {
	fake := newFake(t)
	exp := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	_, value := fake.Seed(cloudflaretest.SeedToken{Name: "parent with expiry", ExpiresOn: &exp,
		Policies: []cloudflaretest.Policy{{Effect: "allow", PermissionGroupIDs: []string{cloudflaretest.PermAPITokensWrite},
			Resources: map[string]any{"com.cloudflare.api.user." + fake.UserTag(): "*"}}}})
	c := clientOf(t, NewFactory(FactoryOptions{}), Config{BaseURL: fake.URL(), Credential: Credential{APIToken: NewSecret(value)}})
	info, err := c.Verify(context.Background())
	if err != nil || info.ExpiresOn == nil || !info.ExpiresOn.Equal(exp) {
		t.Fatalf("Verify = %+v, %v; want ExpiresOn %s", info, err, exp)
	}
}

func TestFakeMintExactPolicyOverAZone(t *testing.T) {
	fake := newFake(t)
	ctx := context.Background()
	c := userClient(t, fake, FactoryOptions{})

	zones, err := c.ResolveZones(ctx, []string{"example.com"})
	if err != nil {
		t.Fatalf("ResolveZones: %v", err)
	}
	if zones[0].ID != fake.ZoneID("example.com") || zones[0].AccountID != fake.AccountID() {
		t.Fatalf("zone = %+v, want id %s", zones[0], fake.ZoneID("example.com"))
	}
	groups, err := c.ResolvePermissionGroups(ctx, []string{"Zone Read", "DNS Write"})
	if err != nil {
		t.Fatalf("ResolvePermissionGroups: %v", err)
	}
	if groups[0].ID != cloudflaretest.PermZoneRead || groups[1].ID != cloudflaretest.PermDNSWrite {
		t.Fatalf("groups = %+v", groups)
	}

	expires := time.Now().Add(168*time.Hour + 123456789*time.Nanosecond)
	spec := TokenSpec{
		Name: "cto/test/default/dns01/1",
		Policies: []Policy{{Effect: EffectAllow, PermissionGroupIDs: []string{groups[0].ID, groups[1].ID},
			Resources: map[string]any{ZoneResource(zones[0].ID): "*"}}},
		ExpiresOn: &expires,
		RequestIP: RequestIP{In: []string{"127.0.0.0/8"}, NotIn: []string{"127.0.0.2/32"}},
	}
	tok, value, err := c.CreateToken(ctx, spec)
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if value.IsZero() || value.Reveal() != fake.TokenValue(tok.ID) {
		t.Fatalf("CreateToken returned a value that is not the token's")
	}
	if fmt.Sprint(value) != "[redacted]" {
		t.Fatalf("the value prints as %q", fmt.Sprint(value))
	}

	stored, ok := fake.Token(tok.ID)
	if !ok {
		t.Fatalf("the fake holds no token %s", tok.ID)
	}
	wantExpiry := expires.UTC().Truncate(time.Second)
	if stored.ExpiresOn == nil || !stored.ExpiresOn.Equal(wantExpiry) {
		t.Fatalf("fake expires_on = %v, want %s (whole seconds, UTC)", stored.ExpiresOn, wantExpiry)
	}
	wantPolicies := []cloudflaretest.Policy{{Effect: "allow",
		PermissionGroupIDs: []string{cloudflaretest.PermZoneRead, cloudflaretest.PermDNSWrite},
		Resources:          map[string]any{ZoneResource(zones[0].ID): "*"}}}
	if !reflect.DeepEqual(stored.Policies, wantPolicies) {
		t.Fatalf("fake policies = %#v, want %#v", stored.Policies, wantPolicies)
	}
	if !reflect.DeepEqual(stored.RequestIPIn, spec.RequestIP.In) || !reflect.DeepEqual(stored.RequestIPNotIn, spec.RequestIP.NotIn) {
		t.Fatalf("fake request_ip = %v / %v", stored.RequestIPIn, stored.RequestIPNotIn)
	}

	got, err := c.GetToken(ctx, tok.ID)
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	for name, tk := range map[string]Token{"create": tok, "get": got} {
		if tk.Name != spec.Name || tk.Status != StatusActive || tk.ExpiresOn == nil || !tk.ExpiresOn.Equal(wantExpiry) {
			t.Fatalf("%s answer = %+v", name, tk)
		}
		if !reflect.DeepEqual(tk.Policies, spec.Policies) || !reflect.DeepEqual(tk.RequestIP, spec.RequestIP) {
			t.Fatalf("%s answer policies/condition = %+v / %+v, want %+v / %+v", name, tk.Policies, tk.RequestIP, spec.Policies, spec.RequestIP)
		}
	}

	// The minted token does what it was minted for: read its zone.
	child := clientOf(t, NewFactory(FactoryOptions{}), Config{BaseURL: fake.URL(), Credential: Credential{APIToken: value}})
	if _, err := child.ResolveZones(ctx, []string{zones[0].ID}); err != nil {
		t.Fatalf("the minted token cannot read its zone: %v", err)
	}
}

func TestFakeAccountOwnedTokenWithNestedResources(t *testing.T) {
	fake := newFake(t)
	ctx := context.Background()
	c := accountClient(t, fake, FactoryOptions{})
	acct := fake.AccountID()
	spec := TokenSpec{Name: "cto/test/account/nested/1", Policies: []Policy{
		{Effect: EffectAllow, PermissionGroupIDs: []string{cloudflaretest.PermZoneRead},
			Resources: map[string]any{AccountResource(acct): map[string]any{"com.cloudflare.api.account.zone.*": "*"}}},
		{Effect: EffectDeny, PermissionGroupIDs: []string{cloudflaretest.PermZoneRead},
			Resources: map[string]any{ZoneResource(fake.ZoneID("example.org")): "*"}},
	}}
	tok, _, err := c.CreateToken(ctx, spec)
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	stored, _ := fake.Token(tok.ID)
	if stored.Owner != "Account" || stored.AccountID != acct {
		t.Fatalf("stored token = %+v, want account-owned by %s", stored, acct)
	}
	got, err := c.GetToken(ctx, tok.ID)
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	if !reflect.DeepEqual(got.Policies, spec.Policies) {
		t.Fatalf("policies = %#v, want %#v", got.Policies, spec.Policies)
	}
	list, err := c.ListTokens(ctx)
	if err != nil || len(list) != 2 { // the account's parent and this one
		t.Fatalf("ListTokens = %d tokens, %v; want 2", len(list), err)
	}
	if err := c.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatalf("DeleteToken: %v", err)
	}
}

func TestFakeListPagesAtFifty(t *testing.T) {
	fake := newFake(t)
	ctx := context.Background()
	c := userClient(t, fake, FactoryOptions{})
	policy := []cloudflaretest.Policy{{Effect: "allow", PermissionGroupIDs: []string{cloudflaretest.PermZoneRead},
		Resources: map[string]any{"com.cloudflare.api.account.zone.*": "*"}}}
	have := 1 // the user's parent token
	for _, want := range []int{1, 49, 50, 51, 100, 149, 150} {
		for ; have < want; have++ {
			fake.Seed(cloudflaretest.SeedToken{Name: fmt.Sprintf("seed-%03d", have), Policies: policy})
		}
		fake.ResetCounts()
		list, err := c.ListTokens(ctx)
		if err != nil {
			t.Fatalf("ListTokens with %d tokens: %v", want, err)
		}
		if len(list) != want {
			t.Fatalf("ListTokens = %d tokens, want %d", len(list), want)
		}
		seen := map[string]bool{}
		for _, tk := range list {
			seen[tk.ID] = true
		}
		if len(seen) != want {
			t.Fatalf("ListTokens returned %d distinct ids out of %d", len(seen), want)
		}
		pages := (want + listPageSize - 1) / listPageSize
		if n := fake.RequestCount("GET", "/user/tokens"); n != pages {
			t.Fatalf("%d tokens took %d list requests, want ceil(n/50) = %d", want, n, pages)
		}
	}
}

func TestFakeCaches(t *testing.T) {
	fake := newFake(t)
	ctx := context.Background()
	clk := newFakeClock()
	f := NewFactory(FactoryOptions{Clock: clk, CacheTTL: 10 * time.Minute})
	cfg := Config{BaseURL: fake.URL(), Credential: Credential{APIToken: NewSecret(fake.UserParentToken())}}
	c := clientOf(t, f, cfg)
	refs := []string{"example.com", fake.ZoneID("example.org")}
	if _, err := c.ResolveZones(ctx, refs); err != nil {
		t.Fatalf("ResolveZones: %v", err)
	}
	if _, err := c.ResolvePermissionGroups(ctx, []string{"DNS Write"}); err != nil {
		t.Fatalf("ResolvePermissionGroups: %v", err)
	}
	before := fake.TotalRequests()
	if before != 3 {
		t.Fatalf("first resolution took %d requests, want 3 (zone by name, zone by id, catalogue)", before)
	}

	// Same client, another client of the same config, and the id/name of an already resolved zone: all hits.
	again := clientOf(t, f, cfg)
	for _, cl := range []Client{c, again} {
		z, err := cl.ResolveZones(ctx, []string{fake.ZoneID("example.com"), "EXAMPLE.org.", "example.com"})
		if err != nil || z[0].Name != "example.com" || z[1].Name != "example.org" {
			t.Fatalf("cached ResolveZones = %+v, %v", z, err)
		}
		if _, err := cl.ResolvePermissionGroups(ctx, []string{"Zone Read", cloudflaretest.PermDNSWrite}); err != nil {
			t.Fatalf("cached ResolvePermissionGroups: %v", err)
		}
	}
	if n := fake.TotalRequests(); n != before {
		t.Fatalf("cached look-ups made %d requests, want 0", n-before)
	}

	clk.Step(10 * time.Minute)
	if _, err := c.ResolveZones(ctx, []string{"example.com"}); err != nil {
		t.Fatalf("ResolveZones after TTL: %v", err)
	}
	if n := fake.TotalRequests(); n != before+1 {
		t.Fatalf("after CacheTTL, ResolveZones made %d requests, want 1", n-before)
	}
}

func TestFakeDeleteIsIdempotent(t *testing.T) {
	fake := newFake(t)
	ctx := context.Background()
	c := userClient(t, fake, FactoryOptions{})
	tok, _, err := c.CreateToken(ctx, TokenSpec{Name: "to-delete", Policies: []Policy{{Effect: EffectAllow,
		PermissionGroupIDs: []string{cloudflaretest.PermZoneRead}, Resources: map[string]any{ZoneResource(fake.ZoneID("example.com")): "*"}}}})
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := c.DeleteToken(ctx, tok.ID); err != nil {
			t.Fatalf("delete #%d: %v", i+1, err)
		}
	}
	if _, ok := fake.Token(tok.ID); ok {
		t.Fatalf("the token survived its deletion")
	}
	if _, err := c.GetToken(ctx, tok.ID); ClassOf(err) != ClassNotFound {
		t.Fatalf("GetToken of a deleted token = %v, want NotFound", err)
	}
}

func TestFakeUnknownNamesSuggestCandidates(t *testing.T) {
	fake := newFake(t)
	ctx := context.Background()
	c := userClient(t, fake, FactoryOptions{})

	_, err := c.ResolveZones(ctx, []string{"exmaple.com"})
	var e *Error
	if !asError(err, &e) || e.Class != ClassNotFound || len(e.Candidates) == 0 || e.Candidates[0] != "example.com" {
		t.Fatalf("unknown zone: %v (candidates %v)", err, candidatesOf(err))
	}
	if !strings.Contains(err.Error(), "exmaple.com") {
		t.Fatalf("the message does not name the zone: %s", err)
	}

	_, err = c.ResolvePermissionGroups(ctx, []string{"Zone Read", "DNS Wrte"})
	if !asError(err, &e) || e.Class != ClassNotFound || len(e.Candidates) == 0 || e.Candidates[0] != "DNS Write" {
		t.Fatalf("unknown permission group: %v (candidates %v)", err, candidatesOf(err))
	}
	if len(e.Candidates) > 3 || !strings.Contains(err.Error(), `"DNS Wrte"`) {
		t.Fatalf("message/candidates: %s / %v", err, e.Candidates)
	}
}

func TestFakePermissionGroupScopeRule(t *testing.T) {
	fake := newFake(t)
	ctx := context.Background()
	c := userClient(t, fake, FactoryOptions{})
	g, err := c.ResolvePermissionGroups(ctx, []string{"Logs Read", "Account Settings Read", "API Tokens Write"})
	if err != nil {
		t.Fatalf("ResolvePermissionGroups: %v", err)
	}
	want := []string{cloudflaretest.PermZoneLogsRead, cloudflaretest.PermAccountSettingsRead, cloudflaretest.PermAPITokensWrite}
	for i := range want {
		if g[i].ID != want[i] {
			t.Fatalf("group %d = %+v, want id %s", i, g[i], want[i])
		}
	}
	scoped, ok := c.(interface {
		ResolvePermissionGroupsScoped(context.Context, []string, string) ([]PermissionGroup, error)
	})
	if !ok {
		t.Fatalf("the client has no ResolvePermissionGroupsScoped")
	}
	g, err = scoped.ResolvePermissionGroupsScoped(ctx, []string{"Logs Read", "DNS Write"}, ScopeAccount)
	if err != nil || g[0].ID != cloudflaretest.PermAccountLogsRead || g[1].ID != cloudflaretest.PermDNSWrite {
		t.Fatalf("scoped = %+v, %v", g, err)
	}
	// The account endpoint serves account-owned issuers.
	if _, err := accountClient(t, fake, FactoryOptions{}).ResolvePermissionGroups(ctx, []string{"DNS Write"}); err != nil {
		t.Fatalf("account catalogue: %v", err)
	}
	if n := fake.RequestCount("GET", "/accounts/{account_id}/tokens/permission_groups"); n != 1 {
		t.Fatalf("account catalogue requests = %d, want 1 (%v)", n, fake.RequestCounts())
	}
}

func asError(err error, target **Error) bool { return errors.As(err, target) }

func candidatesOf(err error) []string {
	var e *Error
	if errors.As(err, &e) {
		return e.Candidates
	}
	return nil
}

func TestFakeZonesAreFilteredByTheIssuerAccount(t *testing.T) {
	const acct1, acct2 = "11111111111111111111111111111111", "22222222222222222222222222222222"
	fake := newFake(t, cloudflaretest.WithAccounts(acct1, acct2),
		cloudflaretest.WithZones(acct1, "one.example"), cloudflaretest.WithZones(acct2, "two.example"))
	ctx := context.Background()
	cred := Credential{APIToken: NewSecret(fake.UserParentToken())}
	c := clientOf(t, NewFactory(FactoryOptions{}), Config{BaseURL: fake.URL(), Credential: cred, AccountID: acct1})
	z, err := c.ResolveZones(ctx, []string{"one.example"})
	if err != nil || z[0].AccountID != acct1 {
		t.Fatalf("own zone: %+v, %v", z, err)
	}
	for _, ref := range []string{"two.example", fake.ZoneID("two.example")} {
		if _, err := c.ResolveZones(ctx, []string{ref}); ClassOf(err) != ClassNotFound {
			t.Fatalf("zone %s of another account: %v, want NotFound", ref, err)
		}
	}
	// Without an account, the credential sees both.
	all := clientOf(t, NewFactory(FactoryOptions{}), Config{BaseURL: fake.URL(), Credential: cred})
	if _, err := all.ResolveZones(ctx, []string{"one.example", "two.example"}); err != nil {
		t.Fatalf("no account filter: %v", err)
	}
}
