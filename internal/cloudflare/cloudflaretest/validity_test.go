package cloudflaretest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	cloudflare "github.com/cloudflare/cloudflare-go/v7"
	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/user"
	"github.com/cloudflare/cloudflare-go/v7/zones"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

func TestInvalidTokensAreRefused(t *testing.T) {
	clk := newClock()
	srv := newServer(t, cloudflaretest.WithClock(clk.Now))
	ctx := context.Background()
	now := clk.Now()
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	seed := func(st cloudflaretest.SeedToken) string {
		st.Name = "t"
		st.Policies = []cloudflaretest.Policy{{Effect: "allow", PermissionGroupIDs: []string{cloudflaretest.PermAPITokensRead},
			Resources: map[string]any{"com.cloudflare.api.user." + srv.UserTag(): "*"}}}
		_, v := srv.Seed(st)
		return v
	}
	cases := []struct {
		name   string
		value  string
		status int
		code   int64
	}{
		{"expired", seed(cloudflaretest.SeedToken{ExpiresOn: &past}), 401, 1000},
		{"not yet valid", seed(cloudflaretest.SeedToken{NotBefore: &future}), 401, 1000},
		{"disabled", seed(cloudflaretest.SeedToken{Status: "disabled"}), 401, 1000},
		{"ip not in allow list", seed(cloudflaretest.SeedToken{RequestIPIn: []string{"203.0.113.0/24"}}), 403, 9109},
		{"ip in deny list", seed(cloudflaretest.SeedToken{RequestIPNotIn: []string{"127.0.0.0/8"}}), 403, 9109},
		{"unknown", "cfut_" + "0123456789012345678901234567890123456789abcdef01", 401, 1000},
		{"malformed", "not a token", 400, 6003},
	}
	for _, tc := range cases {
		_, err := client(srv, tc.value).User.Tokens.Verify(ctx)
		e := asCFError(t, err, tc.status, tc.code)
		if tc.code == 9109 && e.Errors[0].Message != "Cannot use the access token from location: 127.0.0.1" {
			t.Errorf("%s: message %q", tc.name, e.Errors[0].Message)
		}
	}

	// The client address is what the test sets: the allow-listed token works from inside its range.
	allowed := seed(cloudflaretest.SeedToken{RequestIPIn: []string{"203.0.113.0/24"}})
	srv.SetClientIP("203.0.113.7")
	if _, err := client(srv, allowed).User.Tokens.Verify(ctx); err != nil {
		t.Fatalf("allowed address: %v", err)
	}
	srv.SetClientIP("127.0.0.1")

	// A valid token turns invalid when its time comes, and reports so in lists.
	id, value := mintUserToken(t, srv, "short", userPolicyZoneRead(srv))
	parent := client(srv, srv.UserParentToken())
	if _, err := parent.User.Tokens.Update(ctx, id, user.TokenUpdateParams{}); err == nil {
		t.Fatal("update without name and policies accepted")
	}
	v, err := client(srv, value).User.Tokens.Verify(ctx)
	if err != nil || v.ID != id || v.Status != "active" {
		t.Fatalf("verify: %v %+v", err, v)
	}
	exp := clk.Now().Add(30 * time.Minute)
	_, value2 := mintUserTokenExpiring(t, srv, exp)
	clk.Step(31 * time.Minute)
	_, err = client(srv, value2).User.Tokens.Verify(ctx)
	wantCFError(t, err, 401, 1000)
	found := false
	for _, tok := range srv.Tokens() {
		if tok.ExpiresOn != nil && tok.ExpiresOn.Equal(exp) {
			found = tok.Status == "expired"
		}
	}
	if !found {
		t.Fatal("expired token not reported expired")
	}

	// Out of band: disabled, then revoked.
	srv.DisableOutOfBand(id)
	_, err = client(srv, value).User.Tokens.Verify(ctx)
	wantCFError(t, err, 401, 1000)
	got, err := parent.User.Tokens.Get(ctx, id)
	if err != nil || got.Status != "disabled" {
		t.Fatalf("disabled status: %v %+v", err, got)
	}
	srv.RevokeOutOfBand(id)
	_, err = parent.User.Tokens.Get(ctx, id)
	wantCFError(t, err, 404, 1000) // Terraform's fixture shape, the default
	srv.SetTokenNotFound(cloudflaretest.NotFoundRoute)
	_, err = parent.User.Tokens.Get(ctx, id)
	wantCFError(t, err, 404, 7003)
	_, err = client(srv, value).User.Tokens.Verify(ctx)
	wantCFError(t, err, 401, 1000)
}

func userPolicyZoneRead(srv *cloudflaretest.Server) sharedPolicy {
	return userPolicy("allow", []string{cloudflaretest.PermZoneRead}, map[string]string{zoneKey(srv.ZoneID("example.com")): "*"})
}

func mintUserTokenExpiring(t *testing.T, srv *cloudflaretest.Server, exp time.Time) (string, string) {
	t.Helper()
	res, err := client(srv, srv.UserParentToken()).User.Tokens.New(context.Background(), user.TokenNewParams{
		Name: cloudflare.F("expiring"), Policies: cloudflare.F([]sharedPolicy{userPolicyZoneRead(srv)}), ExpiresOn: cloudflare.F(exp)})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !res.ExpiresOn.Equal(exp) {
		t.Fatalf("expires_on %v, want %v", res.ExpiresOn, exp)
	}
	return res.ID, res.Value
}

func TestCredentialsAndHeaders(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	// No credentials at all.
	bare := cloudflare.NewClient(option.WithBaseURL(srv.URL()), option.WithMaxRetries(0))
	_, err := bare.Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(srv.ZoneID("example.com"))})
	wantCFError(t, err, http.StatusBadRequest, 9106)

	key, email := srv.GlobalAPIKey()
	u, err := keyClient(srv, key, email).User.Get(ctx)
	if err != nil || u.ID != srv.UserTag() {
		t.Fatalf("global key /user: %v", err)
	}
	// The global key may do what the user may: read any zone.
	if _, err := keyClient(srv, key, email).Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(srv.ZoneID("example.org"))}); err != nil {
		t.Fatalf("global key zone: %v", err)
	}
	wrong := []byte(key)
	wrong[0] ^= 1
	if wrong[0] > 'f' || (wrong[0] > '9' && wrong[0] < 'a') {
		wrong[0] = '0'
	}
	_, err = keyClient(srv, string(wrong), email).User.Get(ctx)
	wantCFError(t, err, http.StatusForbidden, 9103)
	_, err = keyClient(srv, key, "someone@example.org").User.Get(ctx)
	wantCFError(t, err, http.StatusForbidden, 9103)
	// Tokens without "User Details Read" may not read the user.
	_, v := mintUserToken(t, srv, "zone only", userPolicyZoneRead(srv))
	_, err = client(srv, v).User.Get(ctx)
	wantCFError(t, err, http.StatusForbidden, 9109)
}
