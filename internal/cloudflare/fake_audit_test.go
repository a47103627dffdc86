package cloudflare

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

// The client against the fake's answers from cloudflare-api.md's second audit.

func TestFakeDeleteOfAGoneTokenInBoth404Shapes(t *testing.T) {
	for _, shape := range []cloudflaretest.NotFoundShape{cloudflaretest.NotFoundInvalidToken, cloudflaretest.NotFoundRoute} {
		fake := newFake(t, cloudflaretest.WithTokenNotFound(shape))
		c := userClient(t, fake, FactoryOptions{})
		tok, _, err := c.CreateToken(context.Background(), zoneReadSpec(fake, "gone"))
		if err != nil {
			t.Fatal(err)
		}
		fake.RevokeOutOfBand(tok.ID)
		if err := c.DeleteToken(context.Background(), tok.ID); err != nil {
			t.Fatalf("shape %d: revoking a gone token: %v", shape, err)
		}
		if _, err := c.GetToken(context.Background(), tok.ID); ClassOf(err) != ClassNotFound {
			t.Fatalf("shape %d: get of a gone token: %v, want NotFound", shape, err)
		}
	}
}

func TestFakeDeadParentAnswering403IsACredentialProblem(t *testing.T) {
	fake := newFake(t, cloudflaretest.WithDeadCredential(cloudflaretest.DeadCredential403))
	id, value := fake.Seed(cloudflaretest.SeedToken{Name: "parent", Policies: []cloudflaretest.Policy{{Effect: "allow",
		PermissionGroupIDs: []string{cloudflaretest.PermAPITokensWrite}, Resources: map[string]any{"com.cloudflare.api.user." + fake.UserTag(): "*"}}}})
	c := clientOf(t, NewFactory(FactoryOptions{}), Config{BaseURL: fake.URL(), Credential: Credential{APIToken: NewSecret(value)}})
	fake.RevokeOutOfBand(id)
	_, _, err := c.CreateToken(context.Background(), zoneReadSpec(fake, "after death"))
	if ClassOf(err) != ClassAuthentication || !strings.Contains(err.Error(), "code 10000") {
		t.Fatalf("got %v, want Authentication from the 403/10000", err)
	}
	// A live parent that lacks the right stays a permission problem.
	live := seededParent(t, fake, cloudflaretest.SeedToken{Name: "reader", Policies: []cloudflaretest.Policy{{Effect: "allow",
		PermissionGroupIDs: []string{cloudflaretest.PermZoneRead}, Resources: map[string]any{"com.cloudflare.api.account.zone.*": "*"}}}})
	if _, err := live.ResolveZones(context.Background(), []string{fake.ZoneID("example.com")}); err != nil {
		t.Fatalf("a live reader resolves zones: %v", err)
	}
	noZone := seededParent(t, fake, cloudflaretest.SeedToken{Name: "no zone read"})
	if _, err := noZone.ResolveZones(context.Background(), []string{fake.ZoneID("example.com")}); ClassOf(err) != ClassPermission {
		t.Fatalf("got %v, want PermissionDenied", err)
	}
}

func TestFakeUnrecognisedQuotaAnswerIsQuota(t *testing.T) {
	fake := newFake(t, cloudflaretest.WithUserTokenQuota(UserTokenQuota))
	fake.SetQuotaAnswer(1399, "Request refused")
	c := userClient(t, fake, FactoryOptions{})
	for i := 1; i < UserTokenQuota; i++ { // the parent holds the first slot
		if _, _, err := c.CreateToken(context.Background(), zoneReadSpec(fake, "t")); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	_, _, err := c.CreateToken(context.Background(), zoneReadSpec(fake, "one too many"))
	if ClassOf(err) != ClassQuota || !strings.Contains(err.Error(), "code 1399") {
		t.Fatalf("got %v, want QuotaExceeded naming code 1399", err)
	}
}

func TestFakeScannableGlobalKeyVerifies(t *testing.T) {
	fake := newFake(t, cloudflaretest.WithScannableGlobalKey())
	key, email := fake.GlobalAPIKey()
	c := clientOf(t, NewFactory(FactoryOptions{}), Config{BaseURL: fake.URL(), Credential: Credential{APIKey: NewSecret(key), Email: email}})
	if _, err := c.Verify(context.Background()); err != nil {
		t.Fatalf("cfk_ key: %v", err)
	}
}

func TestFakeListShowsExposedAndRecentlyExpiredTokens(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	fake := newFake(t)
	c := userClient(t, fake, FactoryOptions{})
	exposed, _, err := c.CreateToken(context.Background(), zoneReadSpec(fake, "exposed"))
	if err != nil {
		t.Fatal(err)
	}
	fake.ExposeOutOfBand(exposed.ID)
	recent, long := now.Add(-time.Hour), now.Add(-72*time.Hour)
	recentID, _ := fake.Seed(cloudflaretest.SeedToken{Name: "recently expired", ExpiresOn: &recent})
	longID, _ := fake.Seed(cloudflaretest.SeedToken{Name: "long expired", ExpiresOn: &long})
	tokens, err := c.ListTokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, tok := range tokens {
		status[tok.ID] = tok.Status
	}
	if status[exposed.ID] != StatusExposed || status[recentID] != StatusExpired {
		t.Fatalf("statuses %v: want %s exposed and %s expired", status, exposed.ID, recentID)
	}
	if _, ok := status[longID]; ok {
		t.Fatal("a token expired three days ago was listed; Cloudflare lists only recently expired ones")
	}
}

func TestFakeListCarriesLastUsedOn(t *testing.T) {
	fake := newFake(t)
	c := userClient(t, fake, FactoryOptions{})
	tok, value, err := c.CreateToken(context.Background(), zoneReadSpec(fake, "used"))
	if err != nil {
		t.Fatal(err)
	}
	used := clientOf(t, NewFactory(FactoryOptions{}), Config{BaseURL: fake.URL(), Credential: Credential{APIToken: value}})
	if _, err := used.ResolveZones(context.Background(), []string{fake.ZoneID("example.com")}); err != nil {
		t.Fatal(err)
	}
	tokens, err := c.ListTokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range tokens {
		if got.ID == tok.ID {
			if info, _ := fake.Token(tok.ID); got.LastUsedOn == nil || !got.LastUsedOn.Equal(*info.LastUsedOn) {
				t.Fatalf("LastUsedOn = %v, the fake recorded %v", got.LastUsedOn, info.LastUsedOn)
			}
			return
		}
	}
	t.Fatal("the token is not listed")
}
