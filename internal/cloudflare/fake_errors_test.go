package cloudflare

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

// Each error class from a real answer of the fake.

func zoneReadSpec(fake *cloudflaretest.Server, name string) TokenSpec {
	return TokenSpec{Name: name, Policies: []Policy{{Effect: EffectAllow,
		PermissionGroupIDs: []string{cloudflaretest.PermZoneRead},
		Resources:          map[string]any{ZoneResource(fake.ZoneID("example.com")): "*"}}}}
}

// seededParent plants a user token with these rights (and options) and returns a client on it.
func seededParent(t *testing.T, fake *cloudflaretest.Server, st cloudflaretest.SeedToken) Client {
	t.Helper()
	if st.Policies == nil {
		st.Policies = []cloudflaretest.Policy{{Effect: "allow", PermissionGroupIDs: []string{cloudflaretest.PermAPITokensWrite},
			Resources: map[string]any{"com.cloudflare.api.user." + fake.UserTag(): "*"}}}
	}
	_, value := fake.Seed(st)
	return clientOf(t, NewFactory(FactoryOptions{}), Config{BaseURL: fake.URL(), Credential: Credential{APIToken: NewSecret(value)}})
}

func TestFakeErrorClasses(t *testing.T) {
	past := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	cases := []struct {
		name string
		run  func(t *testing.T, fake *cloudflaretest.Server) error
		want Class
	}{
		{"expired parent", func(t *testing.T, fake *cloudflaretest.Server) error {
			_, err := seededParent(t, fake, cloudflaretest.SeedToken{Name: "expired parent", ExpiresOn: &past}).Verify(context.Background())
			return err
		}, ClassAuthentication},
		{"unknown token", func(t *testing.T, fake *cloudflaretest.Server) error {
			c := clientOf(t, NewFactory(FactoryOptions{}), Config{BaseURL: fake.URL(),
				Credential: Credential{APIToken: NewSecret("cfut_" + fmt.Sprintf("%040d", 7))}})
			_, err := c.Verify(context.Background())
			return err
		}, ClassAuthentication},
		{"IP excluded", func(t *testing.T, fake *cloudflaretest.Server) error {
			c := seededParent(t, fake, cloudflaretest.SeedToken{Name: "ip parent", RequestIPIn: []string{"203.0.113.0/24"}})
			_, _, err := c.CreateToken(context.Background(), zoneReadSpec(fake, "ip"))
			return err
		}, ClassIPRestricted},
		{"missing API Tokens Write", func(t *testing.T, fake *cloudflaretest.Server) error {
			c := seededParent(t, fake, cloudflaretest.SeedToken{Name: "reader", Policies: []cloudflaretest.Policy{{Effect: "allow",
				PermissionGroupIDs: []string{cloudflaretest.PermZoneRead}, Resources: map[string]any{"com.cloudflare.api.account.zone.*": "*"}}}})
			_, _, err := c.CreateToken(context.Background(), zoneReadSpec(fake, "no-write"))
			return err
		}, ClassPermission},
		{"zone outside the parent's rights", func(t *testing.T, fake *cloudflaretest.Server) error {
			_, err := seededParent(t, fake, cloudflaretest.SeedToken{Name: "no zone read"}).ResolveZones(context.Background(), []string{fake.ZoneID("example.com")})
			return err
		}, ClassPermission},
		{"unknown global key", func(t *testing.T, fake *cloudflaretest.Server) error {
			_, email := fake.GlobalAPIKey()
			c := clientOf(t, NewFactory(FactoryOptions{}), Config{BaseURL: fake.URL(),
				Credential: Credential{APIKey: NewSecret(fmt.Sprintf("%037d", 1)), Email: email}})
			_, err := c.Verify(context.Background())
			return err
		}, ClassUnknownKey},
		{"429 storm", func(t *testing.T, fake *cloudflaretest.Server) error {
			fake.SetRateLimitStorm(true)
			_, err := userClient(t, fake, FactoryOptions{}).ListTokens(context.Background())
			if RetryAfterOf(err) != time.Second {
				t.Errorf("RetryAfter = %s, want the fake's 1s", RetryAfterOf(err))
			}
			return err
		}, ClassRateLimited},
		{"5xx", func(t *testing.T, fake *cloudflaretest.Server) error {
			fake.SetServerErrorRatio(1)
			_, err := userClient(t, fake, FactoryOptions{}).Verify(context.Background())
			return err
		}, ClassTransient},
		{"lost create answer", func(t *testing.T, fake *cloudflaretest.Server) error {
			fake.LoseCreateAnswers(1)
			_, _, err := userClient(t, fake, FactoryOptions{}).CreateToken(context.Background(), zoneReadSpec(fake, "lost"))
			return err
		}, ClassTransient},
		{"quota", func(t *testing.T, fake *cloudflaretest.Server) error {
			c := userClient(t, fake, FactoryOptions{})
			for i := 0; ; i++ {
				if _, _, err := c.CreateToken(context.Background(), zoneReadSpec(fake, fmt.Sprintf("q-%d", i))); err != nil || i > 5 {
					return err
				}
			}
		}, ClassQuota},
		{"invalid request", func(t *testing.T, fake *cloudflaretest.Server) error {
			spec := zoneReadSpec(fake, "bad-cidr")
			spec.RequestIP.In = []string{"not-a-cidr"}
			_, _, err := userClient(t, fake, FactoryOptions{}).CreateToken(context.Background(), spec)
			return err
		}, ClassInvalid},
		{"unknown permission group id at create", func(t *testing.T, fake *cloudflaretest.Server) error {
			spec := zoneReadSpec(fake, "bad-group")
			spec.Policies[0].PermissionGroupIDs = []string{"00000000000000000000000000000000"}
			_, _, err := userClient(t, fake, FactoryOptions{}).CreateToken(context.Background(), spec)
			return err
		}, ClassInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t, cloudflaretest.WithUserTokenQuota(3))
			err := tc.run(t, fake)
			if ClassOf(err) != tc.want {
				t.Fatalf("got %v (class %q), want %s", err, ClassOf(err), tc.want)
			}
			assertNoSecrets(t, fake, err)
			t.Logf("%s", err)
		})
	}
}

func TestFakeLostCreateIsFoundByName(t *testing.T) {
	fake := newFake(t)
	ctx := context.Background()
	c := userClient(t, fake, FactoryOptions{})
	fake.LoseCreateAnswers(1)
	if _, _, err := c.CreateToken(ctx, zoneReadSpec(fake, "cto/lost/1")); ClassOf(err) != ClassTransient {
		t.Fatalf("lost create: %v, want Transient", err)
	}
	list, err := c.ListTokens(ctx)
	if err != nil {
		t.Fatalf("ListTokens: %v", err)
	}
	for _, tk := range list {
		if tk.Name == "cto/lost/1" {
			if err := c.DeleteToken(ctx, tk.ID); err != nil {
				t.Fatalf("DeleteToken: %v", err)
			}
			return
		}
	}
	t.Fatalf("the token whose answer was lost is not in the list")
}

func TestFakeClientsOfOneCredentialShareTheBudget(t *testing.T) {
	fake := newFake(t)
	ctx := context.Background()
	clk := newFakeClock()
	f := NewFactory(FactoryOptions{RequestsPer5m: 3, Clock: clk})
	cred := Credential{APIToken: NewSecret(fake.UserParentToken())}
	a := clientOf(t, f, Config{BaseURL: fake.URL(), Credential: cred})
	// Another issuer on the same credential: another cache, the same budget.
	b := clientOf(t, f, Config{BaseURL: fake.URL(), Credential: cred, AccountID: fake.AccountID()})
	// A third issuer on another credential has its own budget.
	other := clientOf(t, f, Config{BaseURL: fake.URL(), Owner: OwnerAccount, AccountID: fake.AccountID(),
		Credential: Credential{APIToken: NewSecret(fake.AccountParentToken(fake.AccountID()))}})

	for i, c := range []Client{a, b, a} {
		if _, err := c.Verify(ctx); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, err := b.Verify(ctx)
	if ClassOf(err) != ClassRateLimited || RetryAfterOf(err) != budgetWindow {
		t.Fatalf("4th call on the credential: %v (retry after %s), want RateLimited for 5m", err, RetryAfterOf(err))
	}
	if n := fake.TotalRequests(); n != 3 {
		t.Fatalf("the fake saw %d requests, want 3", n)
	}
	if _, err := other.Verify(ctx); err != nil {
		t.Fatalf("another credential is limited too: %v", err)
	}
	if r, ok := a.(interface{ Remaining() int }); !ok || r.Remaining() != 0 {
		t.Fatalf("Remaining of the exhausted credential is not 0")
	}
	clk.Step(budgetWindow)
	if _, err := b.Verify(ctx); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestFakeMetricsHook(t *testing.T) {
	fake := newFake(t)
	m := &recordingMetrics{}
	c := userClient(t, fake, FactoryOptions{Metrics: m, RequestsPer5m: 10})
	ctx := context.Background()
	if _, err := c.ResolveZones(ctx, []string{fake.ZoneID("example.com")}); err != nil {
		t.Fatalf("ResolveZones: %v", err)
	}
	if _, err := c.GetToken(ctx, "0123456789abcdef0123456789abcdef"); ClassOf(err) != ClassNotFound {
		t.Fatalf("GetToken: %v", err)
	}
	want := []string{"GET /zones/{id} 200", "GET /user/tokens/{id} 404"}
	if fmt.Sprint(m.requests) != fmt.Sprint(want) {
		t.Fatalf("observed %v, want %v", m.requests, want)
	}
	if len(m.remaining) != 2 || m.remaining[1] != 8 {
		t.Fatalf("budget reports %v, want [9 8]", m.remaining)
	}
	if fmt.Sprint(m.server) != "[1199 1198]" {
		t.Fatalf("server-reported remaining %v, want [1199 1198]", m.server)
	}
}

type recordingMetrics struct {
	requests  []string
	remaining []int
	server    []int
}

func (m *recordingMetrics) ServerRemaining(_ string, n int) { m.server = append(m.server, n) }

func (m *recordingMetrics) ObserveRequest(endpoint string, status int, _ time.Duration) {
	m.requests = append(m.requests, fmt.Sprintf("%s %d", endpoint, status))
}

func (m *recordingMetrics) BudgetRemaining(_ string, n int) { m.remaining = append(m.remaining, n) }
