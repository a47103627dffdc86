package cloudflare

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/shared"
)

const (
	zoneA = "0123456789abcdef0123456789abcdef"
	acctA = "fedcba9876543210fedcba9876543210"
)

// createBody renders what CreateToken sends for spec, through the SDK's own encoder.
func createBody(t testing.TB, spec TokenSpec) map[string]any {
	t.Helper()
	ps, err := toSDKPolicies(spec.Policies)
	if err != nil {
		t.Fatalf("toSDKPolicies: %v", err)
	}
	raw, err := userNewParams(spec, ps).MarshalJSON()
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("unmarshal %s: %v", raw, err)
	}
	return m
}

func TestCreateBody(t *testing.T) {
	exp := time.Date(2030, 1, 2, 4, 4, 5, 987654321, time.FixedZone("CET", 3600))
	nb := time.Date(2030, 1, 1, 0, 0, 0, 1, time.UTC)
	spec := TokenSpec{
		Name: "n",
		Policies: []Policy{
			{Effect: EffectAllow, PermissionGroupIDs: []string{"g1", "g2"}, Resources: map[string]any{ZoneResource(zoneA): "*"}},
			{Effect: EffectAllow, PermissionGroupIDs: []string{"g3"},
				Resources: map[string]any{AccountResource(acctA): map[string]string{"com.cloudflare.api.account.zone.*": "*"}}},
			{Effect: EffectDeny, PermissionGroupIDs: []string{"g1"}, Resources: map[string]any{
				ZoneResource(zoneA): "*", AccountResource(acctA): map[string]any{"com.cloudflare.api.account.zone.*": "*"}}},
		},
		NotBefore: &nb, ExpiresOn: &exp,
		RequestIP: RequestIP{In: []string{"192.0.2.0/24"}},
	}
	got := createBody(t, spec)
	want := map[string]any{
		"name":       "n",
		"not_before": "2030-01-01T00:00:00Z",
		"expires_on": "2030-01-02T03:04:05Z",
		"condition":  map[string]any{"request_ip": map[string]any{"in": []any{"192.0.2.0/24"}}},
		"policies": []any{
			map[string]any{"effect": "allow", "permission_groups": []any{map[string]any{"id": "g1"}, map[string]any{"id": "g2"}},
				"resources": map[string]any{ZoneResource(zoneA): "*"}},
			map[string]any{"effect": "allow", "permission_groups": []any{map[string]any{"id": "g3"}},
				"resources": map[string]any{AccountResource(acctA): map[string]any{"com.cloudflare.api.account.zone.*": "*"}}},
			map[string]any{"effect": "deny", "permission_groups": []any{map[string]any{"id": "g1"}},
				"resources": map[string]any{ZoneResource(zoneA): "*",
					AccountResource(acctA): map[string]any{"com.cloudflare.api.account.zone.*": "*"}}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("body:\n%s\nwant:\n%s", g, w)
	}
}

func TestCreateBodyOmitsEmptyCondition(t *testing.T) {
	got := createBody(t, TokenSpec{Name: "n", Policies: []Policy{{Effect: EffectAllow, PermissionGroupIDs: []string{"g"},
		Resources: map[string]any{ZoneResource(zoneA): "*"}}}})
	for _, k := range []string{"condition", "expires_on", "not_before"} {
		if _, ok := got[k]; ok {
			t.Errorf("body has %q: %v", k, got)
		}
	}
}

func TestPolicyValidation(t *testing.T) {
	bad := map[string][]Policy{
		"no policies":    nil,
		"bad effect":     {{Effect: "maybe", PermissionGroupIDs: []string{"g"}, Resources: map[string]any{"r": "*"}}},
		"no groups":      {{Effect: EffectAllow, Resources: map[string]any{"r": "*"}}},
		"no resources":   {{Effect: EffectAllow, PermissionGroupIDs: []string{"g"}}},
		"number value":   {{Effect: EffectAllow, PermissionGroupIDs: []string{"g"}, Resources: map[string]any{"r": 1}}},
		"deep resources": {{Effect: EffectAllow, PermissionGroupIDs: []string{"g"}, Resources: map[string]any{"r": map[string]any{"x": map[string]any{}}}}},
	}
	for name, ps := range bad {
		if _, err := toSDKPolicies(ps); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	long := TokenSpec{Name: strings.Repeat("x", 121)}
	if checkSpec(long) == nil {
		t.Errorf("a 121-character name was accepted")
	}
}

// A token as Cloudflare reports it, with a policy mixing plain and nested resources (which the SDK's union
// type cannot hold) and no expiry.
const tokenJSON = `{
  "id": "ed17574386854bf78a67040be0a770b0",
  "name": "readonly token",
  "status": "active",
  "issued_on": "2030-01-01T00:00:00Z",
  "modified_on": "2030-01-01T00:00:00Z",
  "not_before": "2030-01-01T00:00:00Z",
  "policies": [
    {"id": "f267e341f3dd4697bd3b9f71dd96247f", "effect": "allow",
     "permission_groups": [{"id": "c8fed203ed3043cba015a93ad1616f1f", "name": "Zone Read"},
                           {"id": "82e64a83756745bbbb1c9c2701bf816b", "name": "DNS Read"}],
     "resources": {"com.cloudflare.api.account.zone.0123456789abcdef0123456789abcdef": "*",
                   "com.cloudflare.api.account.fedcba9876543210fedcba9876543210": {"com.cloudflare.api.account.zone.*": "*"}}}
  ],
  "condition": {"request_ip": {"in": ["192.0.2.0/24"], "not_in": ["192.0.2.7/32"]}}
}`

func TestTokenFromCloudflare(t *testing.T) {
	var st shared.Token
	if err := json.Unmarshal([]byte(tokenJSON), &st); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	got := fromShared(&st)
	nb := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	want := Token{
		ID: "ed17574386854bf78a67040be0a770b0", Name: "readonly token", Status: StatusActive,
		IssuedOn: nb, NotBefore: &nb,
		Policies: []Policy{{Effect: EffectAllow,
			PermissionGroupIDs: []string{"c8fed203ed3043cba015a93ad1616f1f", "82e64a83756745bbbb1c9c2701bf816b"},
			Resources: map[string]any{ZoneResource(zoneA): "*",
				AccountResource(acctA): map[string]any{"com.cloudflare.api.account.zone.*": "*"}}}},
		RequestIP: RequestIP{In: []string{"192.0.2.0/24"}, NotIn: []string{"192.0.2.7/32"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("token:\n%#v\nwant:\n%#v", got, want)
	}
}

func BenchmarkBuildCreateParams(b *testing.B) {
	exp := time.Now().Add(168 * time.Hour)
	spec := TokenSpec{Name: "cto/cluster/ns/name/uid/1", ExpiresOn: &exp, RequestIP: RequestIP{In: []string{"192.0.2.0/24"}},
		Policies: []Policy{
			{Effect: EffectAllow, PermissionGroupIDs: []string{"c8fed203ed3043cba015a93ad1616f1f", "4755a26eedb94da69e1066d98aa820be"},
				Resources: map[string]any{ZoneResource(zoneA): "*"}},
			{Effect: EffectAllow, PermissionGroupIDs: []string{"b89a480218d04ceb98b4fe57ca29dc1f"},
				Resources: map[string]any{AccountResource(acctA): "*"}},
		}}
	b.ReportAllocs()
	for b.Loop() {
		ps, err := toSDKPolicies(spec.Policies)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := userNewParams(spec, ps).MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMapTokenResponse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var st shared.Token
		if err := json.Unmarshal([]byte(tokenJSON), &st); err != nil {
			b.Fatal(err)
		}
		_ = fromShared(&st)
	}
}

func BenchmarkMapTokenOnly(b *testing.B) {
	var st shared.Token
	if err := json.Unmarshal([]byte(tokenJSON), &st); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = fromShared(&st)
	}
}
