package cloudflaretokens

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/failure"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
)

func ranges(allow, deny []cfv1.CIDR) *cfv1.SourceRanges {
	return &cfv1.SourceRanges{Allow: allow, Deny: deny}
}

// TestEffectiveSourceRanges: the token's own ranges, else the issuer's defaults; the issuer's denials always.
func TestEffectiveSourceRanges(t *testing.T) {
	office, lab, bad := cfv1.CIDR("10.0.0.0/8"), cfv1.CIDR("10.1.0.0/16"), cfv1.CIDR("10.9.0.0/16")
	cases := []struct {
		name string
		tok  *cfv1.SourceRanges
		iss  *cfv1.IssuerSpec
		want cfv1.SourceRanges
	}{
		{"neither: any address", nil, &cfv1.IssuerSpec{}, cfv1.SourceRanges{}},
		{"no issuer spec", ranges([]cfv1.CIDR{lab}, nil), nil, *ranges([]cfv1.CIDR{lab}, nil)},
		{"issuer defaults", nil, &cfv1.IssuerSpec{DefaultSourceRanges: ranges([]cfv1.CIDR{office}, []cfv1.CIDR{bad})},
			*ranges([]cfv1.CIDR{office}, []cfv1.CIDR{bad})},
		{"the token's own allow replaces the default allow, the issuer's deny stays",
			ranges([]cfv1.CIDR{lab}, nil), &cfv1.IssuerSpec{DefaultSourceRanges: ranges([]cfv1.CIDR{office}, []cfv1.CIDR{bad})},
			*ranges([]cfv1.CIDR{lab}, []cfv1.CIDR{bad})},
		{"a deny both name is listed once", ranges(nil, []cfv1.CIDR{bad}),
			&cfv1.IssuerSpec{DefaultSourceRanges: ranges(nil, []cfv1.CIDR{bad})}, *ranges(nil, []cfv1.CIDR{bad})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := &cfv1.CloudflareToken{Spec: cfv1.CloudflareTokenSpec{SourceRanges: c.tok}}
			if got := effectiveSourceRanges(tok, c.iss); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestScopeHash: every input a minted token is made from changes the hash; spelling order does not.
func TestScopeHash(t *testing.T) {
	base := func() *cfv1.CloudflareToken {
		return &cfv1.CloudflareToken{Spec: cfv1.CloudflareTokenSpec{
			IssuerRef: cfv1.IssuerRef{Kind: cfv1.KindClusterTokenIssuer, Name: "a"},
			Zones:     []string{"a.com", "b.com"}, Permissions: []string{"DNS Write", "Zone Read"}}}
	}
	iss := &cfv1.IssuerSpec{}
	want := scopeHash(base(), iss, "acct")
	cases := []struct {
		name    string
		change  func(*cfv1.CloudflareToken) (*cfv1.IssuerSpec, string)
		changes bool
	}{
		{"nothing", func(*cfv1.CloudflareToken) (*cfv1.IssuerSpec, string) { return iss, "acct" }, false},
		{"zones in another order", func(t *cfv1.CloudflareToken) (*cfv1.IssuerSpec, string) {
			t.Spec.Zones = []string{"b.com", "a.com"}
			return iss, "acct"
		}, false},
		{"a zone more", func(t *cfv1.CloudflareToken) (*cfv1.IssuerSpec, string) {
			t.Spec.Zones = append(t.Spec.Zones, "c.com")
			return iss, "acct"
		}, true},
		{"a permission less", func(t *cfv1.CloudflareToken) (*cfv1.IssuerSpec, string) {
			t.Spec.Permissions = t.Spec.Permissions[:1]
			return iss, "acct"
		}, true},
		{"another issuer", func(t *cfv1.CloudflareToken) (*cfv1.IssuerSpec, string) {
			t.Spec.IssuerRef.Name = "b"
			return iss, "acct"
		}, true},
		{"the issuer's account", func(*cfv1.CloudflareToken) (*cfv1.IssuerSpec, string) { return iss, "other" }, true},
		{"the TTL", func(t *cfv1.CloudflareToken) (*cfv1.IssuerSpec, string) {
			t.Spec.TTL = &metav1.Duration{Duration: 3 * time.Hour}
			return iss, "acct"
		}, true},
		{"the issuer's default source ranges", func(*cfv1.CloudflareToken) (*cfv1.IssuerSpec, string) {
			return &cfv1.IssuerSpec{DefaultSourceRanges: ranges([]cfv1.CIDR{"10.0.0.0/8"}, nil)}, "acct"
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := base()
			spec, acct := c.change(tok)
			if got := scopeHash(tok, spec, acct); (got != want) != c.changes {
				t.Fatalf("hash %s vs %s: changed %v, want %v", got, want, got != want, c.changes)
			}
		})
	}
}

// TestOwnsSecret: only a Secret labelled for the resource and controlled by it (by UID) is the operator's.
func TestOwnsSecret(t *testing.T) {
	tok := &cfv1.CloudflareToken{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ns", UID: types.UID("u1")}}
	ours := map[string]string{cfv1.LabelManagedBy: cfv1.ManagedByValue, cfv1.LabelToken: "t"}
	owner := func(uid string, controller bool) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: cfv1.GroupVersion.String(), Kind: "CloudflareToken", Name: "t",
			UID: types.UID(uid), Controller: ptr.To(controller)}}
	}
	cases := []struct {
		name   string
		labels map[string]string
		owners []metav1.OwnerReference
		want   bool
	}{
		{"labelled and controlled", ours, owner("u1", true), true},
		{"labelled, no owner (a tenant's own Secret)", ours, nil, false},
		{"labelled, owned but not controlling", ours, owner("u1", false), false},
		{"labelled, controlled by a resource of the same name but another UID", ours, owner("u2", true), false},
		{"controlled, labelled for another resource", map[string]string{cfv1.LabelManagedBy: cfv1.ManagedByValue,
			cfv1.LabelToken: "other"}, owner("u1", true), false},
		{"controlled, managed-by another value", map[string]string{cfv1.LabelManagedBy: "someone", cfv1.LabelToken: "t"},
			owner("u1", true), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ns", Labels: c.labels, OwnerReferences: c.owners}}
			if got := ownsSecret(sec, tok); got != c.want {
				t.Fatalf("ownsSecret = %v, want %v", got, c.want)
			}
		})
	}
}

// TestEnsureRecordedWithinIssuer is the bounds check of what status records against the issuer as it is
// now: a stricter issuer withdraws what it no longer allows.
func TestEnsureRecordedWithinIssuer(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	iss := &issuerclient.Issuer{Kind: cfv1.KindClusterTokenIssuer, Name: "b", Spec: &cfv1.IssuerSpec{
		AllowedZones: []string{"example.com"}, AllowedPermissions: []string{"DNS Write"}, MaxTTL: &metav1.Duration{Duration: 24 * time.Hour}}}
	recorded := func(zone, group string, ttl time.Duration) cfv1.CloudflareTokenStatus {
		return cfv1.CloudflareTokenStatus{TokenID: "tok", IssuedAt: timePtr(t0), ExpiresAt: timePtr(t0.Add(ttl)),
			Zones:            []cfv1.ResolvedZone{{Name: zone, ID: "z-" + zone}},
			PermissionGroups: []cfv1.ResolvedPermissionGroup{{Name: group, ID: "g", Scope: cloudflare.ScopeZone}}}
	}
	cases := []struct {
		name string
		st   cfv1.CloudflareTokenStatus
		want string // "" = allowed; else the reason
	}{
		{"no token yet", cfv1.CloudflareTokenStatus{}, ""},
		{"within", recorded("example.com", "DNS Write", time.Hour), ""},
		{"a zone no longer allowed", recorded("example.org", "DNS Write", time.Hour), "ZoneNotAllowed"},
		{"a permission no longer allowed", recorded("example.com", "Zone Settings Write", time.Hour), "PermissionNotAllowed"},
		{"a lifetime above maxTTL now", recorded("example.com", "DNS Write", 48*time.Hour), "TTLNotAllowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ensureRecordedWithinIssuer(&cfv1.CloudflareToken{Status: c.st}, iss)
			ref, _ := failure.AsRefusal(err)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (ref == nil || ref.Reason != c.want):
				t.Fatalf("want %s, got %v", c.want, err)
			}
		})
	}
}
