package controller_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	cf "github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

// The trust boundary (design.md): a tenant with rights only in its own namespace tries to mint more than
// its issuer allows. Every row must be refused with the rule and the offender named, and no create may
// reach Cloudflare (the serial is recorded before every create, and the fake holds no token of it).
var _ = Describe("trust boundary: nothing minted exceeds its issuer", Ordered, func() {
	var ns string
	issuers := map[string]cfv1.IssuerSpec{
		// The example: zones bounded, no allowedPermissions at all.
		"tb-narrow": {AllowedZones: []string{"example.com"}},
		// "*" for permissions: zone-scoped groups only.
		"tb-star": {AllowedZones: []string{"example.com"}, AllowedPermissions: []string{"*"}},
		// An issuer that lists token-minting groups: they are never minted all the same.
		"tb-lists-minting": {AllowedZones: []string{"*"},
			AllowedPermissions: []string{"API Tokens Write", "Account API Tokens Write", cf.PermAPITokensWrite, "DNS Write"}},
		// An account-scoped group named, but zones bounded: the account resource is the whole account.
		"tb-account-named": {AllowedZones: []string{"example.com"},
			AllowedPermissions: []string{"Account Settings Write", "Zone Read", "DNS Write"}},
		// No allowedZones: nothing.
		"tb-no-zones": {AllowedPermissions: []string{"*"}},
		// Positive control: any zone, zone-scoped groups, one account group named.
		"tb-wide": {AllowedZones: []string{"*"}, AllowedPermissions: []string{"*", "Account Settings Read"}},
	}

	BeforeAll(func() {
		ns = newNamespace()
		for name, spec := range issuers {
			spec.APITokenSecretRef = &cfv1.SecretKeyRef{Name: "cf-parent"}
			spec.AccountID = fake.AccountID()
			createClusterIssuerExactly(name, spec)
		}
		for name := range issuers {
			waitIssuerReady(name)
		}
	})

	zones := func(z ...string) func(*cfv1.CloudflareToken) {
		return func(t *cfv1.CloudflareToken) { t.Spec.Zones = z }
	}
	zoneByID := func(name string) func(*cfv1.CloudflareToken) {
		return func(t *cfv1.CloudflareToken) { t.Spec.Zones = []string{fakeZoneID(name)} }
	}
	perms := func(p ...string) func(*cfv1.CloudflareToken) {
		return func(t *cfv1.CloudflareToken) { t.Spec.Permissions = p }
	}
	policies := func(ps ...cfv1.Policy) func(*cfv1.CloudflareToken) {
		return func(t *cfv1.CloudflareToken) { t.Spec.Zones, t.Spec.Permissions, t.Spec.Policies = nil, nil, ps }
	}

	var refused []*cfv1.CloudflareToken
	DescribeTable("refuses, naming the rule and the offender, and sends no create",
		func(name, issuer string, mutate []func(*cfv1.CloudflareToken), reason, offender string) {
			tok := newToken(ns, name, func(t *cfv1.CloudflareToken) {
				t.Spec.IssuerRef = cfv1.IssuerRef{Kind: cfv1.KindClusterTokenIssuer, Name: issuer}
			})
			for _, m := range mutate {
				m(tok)
			}
			Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
			c := waitReason(client.ObjectKeyFromObject(tok), reason)
			Expect(c.Status).To(Equal(metav1.ConditionFalse))
			Expect(c.Message).To(ContainSubstring(offender))
			expectNoMintAttempt(tok, 200*time.Millisecond)
			refused = append(refused, tok)
		},
		Entry("a token-minting group by name, through an issuer with no allowedPermissions", "mint-by-name", "tb-narrow",
			[]func(*cfv1.CloudflareToken){perms("Account API Tokens Write")}, "PermissionNeverMinted", `"Account API Tokens Write"`),
		Entry("no allowedPermissions allows nothing, not even DNS Write", "no-perms", "tb-narrow",
			[]func(*cfv1.CloudflareToken){perms("DNS Write")}, "PermissionNotAllowed", "allowedPermissions is empty"),
		Entry("no allowedZones allows no zone", "no-zones", "tb-no-zones",
			[]func(*cfv1.CloudflareToken){perms("DNS Write")}, "ZoneNotAllowed", "allowedZones is empty"),
		Entry(`an account-scoped group through "*"`, "star-account", "tb-star",
			[]func(*cfv1.CloudflareToken){perms("Account Settings Write")}, "PermissionNotAllowed",
			`"Account Settings Write" is account-scoped`),
		Entry("an account-scoped group in the policies form, with zones", "policies-workers", "tb-star",
			[]func(*cfv1.CloudflareToken){policies(cfv1.Policy{Effect: "allow", Permissions: []string{"Workers Scripts Write"},
				Zones: []string{"example.com"}})}, "PermissionNotAllowed", `spec.policies: permission "Workers Scripts Write"`),
		Entry("an account-scoped group by id", "account-by-id", "tb-star",
			[]func(*cfv1.CloudflareToken){perms(cf.PermAccountSettingsWrite)}, "PermissionNotAllowed", `"Account Settings Write"`),
		Entry("mixed zone and account permissions", "mixed", "tb-star",
			[]func(*cfv1.CloudflareToken){perms("DNS Write", "Workers Scripts Write")}, "PermissionNotAllowed",
			`"Workers Scripts Write" is account-scoped`),
		Entry("a zone by id that resolves outside allowedZones", "zone-by-id", "tb-star",
			[]func(*cfv1.CloudflareToken){zoneByID("example.org")}, "ZoneNotAllowed", `zone "example.org"`),
		Entry("a zone name in another case that is not allowed", "zone-case", "tb-star",
			[]func(*cfv1.CloudflareToken){zones("EXAMPLE.NET")}, "ZoneNotAllowed", `zone "example.net"`),
		Entry("API Tokens Write through an issuer that lists it", "listed-minting", "tb-lists-minting",
			[]func(*cfv1.CloudflareToken){perms("API Tokens Write")}, "PermissionNeverMinted", `"API Tokens Write"`),
		Entry("API Tokens Write by id through an issuer that lists the id", "listed-minting-id", "tb-lists-minting",
			[]func(*cfv1.CloudflareToken){perms(cf.PermAPITokensWrite)}, "PermissionNeverMinted", `"API Tokens Write"`),
		Entry("Account API Tokens Write by id on the account", "account-minting-id", "tb-lists-minting",
			[]func(*cfv1.CloudflareToken){policies(cfv1.Policy{Effect: "allow", Permissions: []string{cf.PermAccountAPITokensWrite},
				Account: true})}, "PermissionNeverMinted", `"Account API Tokens Write"`),
		Entry("API Tokens Read: a minted token may not even read tokens", "read-tokens", "tb-lists-minting",
			[]func(*cfv1.CloudflareToken){perms("API Tokens Read")}, "PermissionNeverMinted", `"API Tokens Read"`),
		Entry("a named account-scoped group without allowedZones [\"*\"]", "account-bounded-zones", "tb-account-named",
			[]func(*cfv1.CloudflareToken){perms("Account Settings Write")}, "AccountNotAllowed", `"Account Settings Write"`),
		Entry("account: true without allowedZones [\"*\"]", "account-policy", "tb-account-named",
			[]func(*cfv1.CloudflareToken){policies(cfv1.Policy{Effect: "allow", Permissions: []string{"Account Settings Write"},
				Account: true})}, "AccountNotAllowed", "account-wide policies"),
	)

	It("made no create for any row, at Cloudflare", func() {
		Expect(refused).To(HaveLen(15))
		for _, t := range refused {
			for _, info := range fake.Tokens() {
				Expect(info.Name).NotTo(ContainSubstring(string(t.UID)), "a token was minted for %s", t.Name)
			}
		}
	})

	It("mints what is within bounds: a zone by id that resolves to an allowed zone", func() {
		tok := newToken(ns, "zone-id-allowed", func(t *cfv1.CloudflareToken) {
			t.Spec.IssuerRef = cfv1.IssuerRef{Kind: cfv1.KindClusterTokenIssuer, Name: "tb-star"}
			t.Spec.Zones = []string{fakeZoneID("example.com")}
		})
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		Expect(tok.Status.Zones).To(ConsistOf(cfv1.ResolvedZone{Name: "example.com", ID: fakeZoneID("example.com")}))
		Expect(tok.Status.MintedBy).NotTo(BeNil())
		Expect(tok.Status.MintedBy.IssuerName).To(Equal("tb-star"))
	})

	It("mints an account-scoped group that the issuer names, with allowedZones [\"*\"]", func() {
		tok := newToken(ns, "account-named-wide", func(t *cfv1.CloudflareToken) {
			t.Spec.IssuerRef = cfv1.IssuerRef{Kind: cfv1.KindClusterTokenIssuer, Name: "tb-wide"}
			t.Spec.Zones, t.Spec.Permissions = nil, nil
			t.Spec.Policies = []cfv1.Policy{
				{Effect: "allow", Permissions: []string{"DNS Write"}, Zones: []string{"example.net"}},
				{Effect: "allow", Permissions: []string{"Account Settings Read"}, Account: true},
			}
		})
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		info, ok := fake.Token(tok.Status.TokenID)
		Expect(ok).To(BeTrue())
		Expect(info.Policies).To(HaveLen(2))
	})
})

func fakeZoneID(name string) string {
	id := fake.ZoneID(name)
	Expect(id).NotTo(BeEmpty(), "the fake has no zone %s", name)
	return id
}
