package cloudflare

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestClientForRefusesUnusableConfigs(t *testing.T) {
	tok := Credential{APIToken: NewSecret("t")}
	cases := map[string]Config{
		"no credential":         {},
		"token and key":         {Credential: Credential{APIToken: NewSecret("t"), APIKey: NewSecret("k"), Email: "e@x"}},
		"key without e-mail":    {Credential: Credential{APIKey: NewSecret("k")}},
		"account without id":    {Credential: tok, Owner: OwnerAccount},
		"unknown owner":         {Credential: tok, Owner: "Team"},
		"whitespace-only token": {Credential: Credential{APIToken: NewSecret(" \n")}},
	}
	f := NewFactory(FactoryOptions{})
	for name, cfg := range cases {
		if _, err := f.ClientFor(cfg); ClassOf(err) != ClassInvalid {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
}

func TestClientForReusesClientsAndKeysByCredentialHash(t *testing.T) {
	f := NewFactory(FactoryOptions{})
	cfg := Config{Credential: Credential{APIToken: NewSecret("secret-value\n")}}
	a, _ := f.ClientFor(cfg)
	cfg.Credential.APIToken = NewSecret("secret-value") // the trailing newline is not part of the credential
	b, _ := f.ClientFor(cfg)
	if a != b {
		t.Fatalf("the same configuration got two clients (and two caches)")
	}
	cfg.AccountID = acctA
	c, _ := f.ClientFor(cfg)
	if c == a {
		t.Fatalf("another account got the same client")
	}
	if a.(*sdkClient).budget != c.(*sdkClient).budget {
		t.Fatalf("two issuers on one credential have two budgets")
	}
	if a.(*sdkClient).cfg.BaseURL != DefaultBaseURL {
		t.Fatalf("BaseURL = %q, want the default", a.(*sdkClient).cfg.BaseURL)
	}
	h := CredentialHash(Credential{APIToken: NewSecret("secret-value")})
	if strings.Contains(h, "secret") || h != CredentialHash(Credential{APIToken: NewSecret(" secret-value ")}) {
		t.Fatalf("CredentialHash = %q", h)
	}
	if h == CredentialHash(Credential{APIKey: NewSecret("secret-value"), Email: "e@x"}) {
		t.Fatalf("a token and a key of the same text hash alike")
	}
}

func TestFactoryForgetsIdleClients(t *testing.T) {
	clk := newFakeClock()
	f := NewFactory(FactoryOptions{Clock: clk}).(*factory)
	old := Config{Credential: Credential{APIToken: NewSecret("old")}}
	if _, err := f.ClientFor(old); err != nil {
		t.Fatal(err)
	}
	clk.Step(idleEviction + time.Minute)
	if _, err := f.ClientFor(Config{Credential: Credential{APIToken: NewSecret("new")}}); err != nil {
		t.Fatal(err)
	}
	if len(f.clients) != 1 || len(f.budgets) != 1 {
		t.Fatalf("factory holds %d clients and %d budgets, want 1 and 1", len(f.clients), len(f.budgets))
	}
}

func TestClosest(t *testing.T) {
	names := []string{"Zone Read", "Zone Write", "DNS Read", "DNS Write", "Workers Scripts Write"}
	if got := closest("DNS Wrte", names); !reflect.DeepEqual(got, []string{"DNS Write"}) {
		t.Errorf("closest(DNS Wrte) = %v", got)
	}
	if got := closest("zone read", names); len(got) == 0 || got[0] != "Zone Read" {
		t.Errorf("closest is not case-insensitive: %v", got)
	}
	if got := closest("Billing Admin", names); len(got) != 0 {
		t.Errorf("closest suggests far names: %v", got)
	}
}

func TestRouteOf(t *testing.T) {
	u := func(p string) string {
		r, _ := parseURL("http://127.0.0.1:1/client/v4" + p)
		return routeOf("GET", r, "http://127.0.0.1:1/client/v4")
	}
	cases := map[string]string{
		"/user/tokens":                                     "GET /user/tokens",
		"/user/tokens/verify":                              "GET /user/tokens/verify",
		"/user/tokens/abc":                                 "GET /user/tokens/{id}",
		"/accounts/" + acctA + "/tokens/abc":               "GET /accounts/{id}/tokens/{id}",
		"/accounts/" + acctA + "/tokens/permission_groups": "GET /accounts/{id}/tokens/permission_groups",
		"/zones/" + zoneA:                                  "GET /zones/{id}",
	}
	for in, want := range cases {
		if got := u(in); got != want {
			t.Errorf("routeOf(%s) = %q, want %q", in, got, want)
		}
	}
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }
