package cloudflaretokens

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/failure"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
)

// TestEnsureScopeWithinIssuer is the bounds check on resolved scopes, rule by rule; each row's want names the
// reason and the offender, so that removing a rule turns its row red.
func TestEnsureScopeWithinIssuer(t *testing.T) {
	zone := func(name, id string) cfv1.ResolvedZone { return cfv1.ResolvedZone{Name: name, ID: id} }
	group := func(name, id, scope string) cfv1.ResolvedPermissionGroup {
		return cfv1.ResolvedPermissionGroup{Name: name, ID: id, Scope: scope}
	}
	com := zone("example.com", "zcom")
	org := zone("example.org", "zorg")
	dns := group("DNS Write", "gdns", cloudflare.ScopeZone)
	settings := group("Account Settings Write", "gset", cloudflare.ScopeAccount)
	userDetails := group("User Details Read", "guser", cloudflare.ScopeUser)
	mint := group("API Tokens Write", "686d18d5ac6c441c867cbf6771e58a0a", cloudflare.ScopeUser)
	accountMint := group("Account API Tokens Write", "5bc3f8b21c554832afc660159ab75fa4", cloudflare.ScopeAccount)
	accountRead := group("Account API Tokens Read", "eb56a6953c034b9d97dd838155666f06", cloudflare.ScopeAccount)

	cases := []struct {
		name         string
		zones, perms []string
		got          []cfv1.ResolvedZone
		groups       []cfv1.ResolvedPermissionGroup
		want         string // "" = allowed; else reason + offender
	}{
		{"named zone and group", []string{"example.com"}, []string{"DNS Write"}, []cfv1.ResolvedZone{com}, []cfv1.ResolvedPermissionGroup{dns}, ""},
		{"names without case", []string{"EXAMPLE.com"}, []string{"dns write"}, []cfv1.ResolvedZone{com}, []cfv1.ResolvedPermissionGroup{dns}, ""},
		{"zone listed by id", []string{"zcom"}, []string{"*"}, []cfv1.ResolvedZone{com}, []cfv1.ResolvedPermissionGroup{dns}, ""},
		{"group listed by id", []string{"*"}, []string{"gdns"}, []cfv1.ResolvedZone{org}, []cfv1.ResolvedPermissionGroup{dns}, ""},
		{"zone outside", []string{"example.com"}, []string{"*"}, []cfv1.ResolvedZone{org}, []cfv1.ResolvedPermissionGroup{dns}, `ZoneNotAllowed: spec.zones: zone "example.org"`},
		{"empty allowedZones", nil, []string{"*"}, []cfv1.ResolvedZone{com}, []cfv1.ResolvedPermissionGroup{dns}, `ZoneNotAllowed: spec.zones: zone "example.com"`},
		{"empty allowedPermissions", []string{"*"}, nil, []cfv1.ResolvedZone{com}, []cfv1.ResolvedPermissionGroup{dns}, `PermissionNotAllowed: spec.permissions: permission "DNS Write"`},
		{"zone group not listed", []string{"*"}, []string{"Zone Read"}, []cfv1.ResolvedZone{com}, []cfv1.ResolvedPermissionGroup{dns}, `PermissionNotAllowed: spec.permissions: permission "DNS Write"`},
		{"star does not cover account scope", []string{"*"}, []string{"*"}, nil, []cfv1.ResolvedPermissionGroup{settings}, `PermissionNotAllowed: spec.permissions: permission "Account Settings Write" is account-scoped`},
		{"star does not cover user scope", []string{"*"}, []string{"*"}, nil, []cfv1.ResolvedPermissionGroup{userDetails}, `PermissionNotAllowed: spec.permissions: permission "User Details Read" is user-scoped`},
		{"named account group, zones bounded", []string{"example.com"}, []string{"Account Settings Write"}, nil, []cfv1.ResolvedPermissionGroup{settings}, `AccountNotAllowed: spec.permissions: permission "Account Settings Write"`},
		{"named account group, any zone", []string{"*"}, []string{"Account Settings Write"}, nil, []cfv1.ResolvedPermissionGroup{settings}, ""},
		{"named account group by id", []string{"*"}, []string{"gset"}, nil, []cfv1.ResolvedPermissionGroup{settings}, ""},
		{"mixed zone and account", []string{"*"}, []string{"*"}, []cfv1.ResolvedZone{com}, []cfv1.ResolvedPermissionGroup{dns, settings}, `PermissionNotAllowed: spec.permissions: permission "Account Settings Write"`},
		{"API Tokens Write though listed", []string{"*"}, []string{"*", "API Tokens Write"}, nil, []cfv1.ResolvedPermissionGroup{mint}, `PermissionNeverMinted: spec.permissions: permission "API Tokens Write"`},
		{"Account API Tokens Write though listed by id", []string{"*"}, []string{accountMint.ID}, nil, []cfv1.ResolvedPermissionGroup{accountMint}, `PermissionNeverMinted: spec.permissions: permission "Account API Tokens Write"`},
		{"Account API Tokens Read though listed", []string{"*"}, []string{"Account API Tokens Read"}, nil, []cfv1.ResolvedPermissionGroup{accountRead}, `PermissionNeverMinted: spec.permissions: permission "Account API Tokens Read"`},
		{"token group renamed, known by id", []string{"*"}, []string{"*", "Tokens"}, nil, []cfv1.ResolvedPermissionGroup{group("Tokens", mint.ID, cloudflare.ScopeZone)}, `PermissionNeverMinted`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			iss := &issuerclient.Issuer{Kind: cfv1.KindClusterTokenIssuer, Name: "bounded",
				Spec: &cfv1.IssuerSpec{AllowedZones: c.zones, AllowedPermissions: c.perms}}
			err := ensureScopeWithinIssuer(&cfv1.CloudflareToken{}, c.got, c.groups, iss)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			ref, ok := failure.AsRefusal(err)
			if !ok {
				t.Fatalf("want refusal %q, got %v", c.want, err)
			}
			if got := ref.Reason + ": " + ref.Message; !strings.HasPrefix(got, c.want) {
				t.Fatalf("want %q..., got %q", c.want, got)
			}
		})
	}
}

func TestPrecheckIssuerBounds(t *testing.T) {
	iss := &issuerclient.Issuer{Kind: cfv1.KindClusterTokenIssuer, Name: "b", Spec: &cfv1.IssuerSpec{
		AllowedZones: []string{"example.com"}, AllowedPermissions: []string{"*"}, MaxTTL: &metav1.Duration{Duration: 1}}}
	cases := []struct {
		name string
		spec cfv1.CloudflareTokenSpec
		want string
	}{
		{"minting group by name, any case", cfv1.CloudflareTokenSpec{Permissions: []string{"account api tokens edit"}}, "PermissionNeverMinted"},
		{"account-wide policy without allowedZones *", cfv1.CloudflareTokenSpec{Policies: []cfv1.Policy{{Permissions: []string{"x"}, Account: true}}}, "AccountNotAllowed"},
		{"ttl above maxTTL", cfv1.CloudflareTokenSpec{Zones: []string{"example.com"}, Permissions: []string{"DNS Write"}}, "TTLNotAllowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref, ok := failure.AsRefusal(precheckIssuerBounds(&cfv1.CloudflareToken{Spec: c.spec}, iss))
			if !ok || ref.Reason != c.want {
				t.Fatalf("want %s, got %+v", c.want, ref)
			}
		})
	}
}

// TestTransformSecretForCache: a labelled Secret's data never reaches the cache, and of a Secret no
// CloudflareToken controls only the operator's own metadata is kept.
func TestTransformSecretForCache(t *testing.T) {
	big := strings.Repeat("x", 900<<10)
	planted := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "planted",
		Labels:      map[string]string{cfv1.LabelManagedBy: cfv1.ManagedByValue, "junk": "1"},
		Annotations: map[string]string{"junk": big, cfv1.AnnotationTokenID: "t"}},
		Data: map[string][]byte{"api-token": []byte(big)}}
	out, _ := TransformSecretForCache(planted)
	sec := out.(*corev1.Secret)
	if sec.Data != nil || len(sec.Annotations) != 1 || len(sec.Labels) != 1 {
		t.Fatalf("uncontrolled Secret kept data or foreign metadata: data %d keys, %v, %v", len(sec.Data), sec.Labels, len(sec.Annotations))
	}
	if _, ok := valueDigest(sec, "api-token"); ok {
		t.Fatal("an uncontrolled Secret kept a digest")
	}

	tok := &cfv1.CloudflareToken{ObjectMeta: metav1.ObjectMeta{Name: "dns01", UID: "u1"}}
	ours := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "dns01",
		Labels:          map[string]string{cfv1.LabelManagedBy: cfv1.ManagedByValue, cfv1.LabelToken: "dns01"},
		Annotations:     map[string]string{cfv1.AnnotationTokenID: "t", annotationChecksum: checksum([]byte("value"))},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: cfv1.GroupVersion.String(), Kind: "CloudflareToken", Name: "dns01", UID: "u1", Controller: ptr.To(true)}}},
		Data: map[string][]byte{"api-token": []byte("value")}}
	out, _ = TransformSecretForCache(ours.DeepCopy())
	cached := out.(*corev1.Secret)
	if cached.Data != nil {
		t.Fatal("the cache kept a token value")
	}
	if !holdsToken(cached, tok, "t") || !holdsToken(ours, tok, "t") {
		t.Fatal("holdsToken differs between the cached digest and the Secret read whole")
	}
	ours.Data["api-token"] = []byte("edited by hand")
	out, _ = TransformSecretForCache(ours.DeepCopy())
	if holdsToken(out.(*corev1.Secret), tok, "t") {
		t.Fatal("an edited value still reads as the token's")
	}
	ours.OwnerReferences = nil
	if ownsSecret(ours, tok) {
		t.Fatal("a labelled Secret without its controller reference was taken for the operator's")
	}
}
