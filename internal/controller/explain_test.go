package controller_test

import (
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

// Each Cloudflare failure class, driven in the fake, must end in a Ready condition whose reason names the
// class and whose message says what to do. Parents are seeded per spec so that the suite's parent, its
// quota and its rate budget are left alone.

// parentPolicies are the rights of a working user-owned parent: API Tokens Write and User Details Read on
// the user, Zone Read on every zone of the account.
func parentPolicies() []cloudflaretest.Policy {
	return []cloudflaretest.Policy{
		{Effect: "allow", PermissionGroupIDs: []string{cloudflaretest.PermAPITokensWrite, cloudflaretest.PermUserDetailsRead},
			Resources: map[string]any{"com.cloudflare.api.user." + fake.UserTag(): "*"}},
		{Effect: "allow", PermissionGroupIDs: []string{cloudflaretest.PermZoneRead},
			Resources: map[string]any{"com.cloudflare.api.account." + fake.AccountID(): map[string]any{"com.cloudflare.api.account.zone.*": "*"}}},
	}
}

// seedParentIssuer plants a parent token in the fake, stores it in a Secret and creates a ClusterTokenIssuer
// for it; both go when the spec ends (the seeded token too).
func seedParentIssuer(name string, seed cloudflaretest.SeedToken) {
	seed.Name = "explain parent " + name
	id, value := fake.Seed(seed)
	DeferCleanup(func() { fake.RevokeOutOfBand(id) })
	createSecretFor(name, map[string]string{"api-token": value})
	createClusterIssuer(name, cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: name}})
}

func createSecretFor(name string, data map[string]string) {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: operatorNamespace}, StringData: data}
	Expect(k8sClient.Create(suiteCtx, sec)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(suiteCtx, sec))).To(Succeed()) })
}

func createClusterIssuer(name string, spec cfv1.IssuerSpec) {
	createClusterIssuerExactly(name, withAnyZoneScope(spec))
}

// createClusterIssuerExactly creates the issuer with its allow-lists as given (empty ones allow nothing).
func createClusterIssuerExactly(name string, spec cfv1.IssuerSpec) {
	iss := &cfv1.ClusterTokenIssuer{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: spec}}
	Expect(k8sClient.Create(suiteCtx, iss)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(suiteCtx, iss))).To(Succeed()) })
}

// waitIssuerReason waits until the ClusterTokenIssuer's Ready condition has this reason and returns it.
func waitIssuerReason(name, reason string) *metav1.Condition {
	var c *metav1.Condition
	Eventually(func(g Gomega) {
		iss := &cfv1.ClusterTokenIssuer{}
		g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Name: name}, iss)).To(Succeed())
		c = meta.FindStatusCondition(iss.Status.Conditions, cfv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(reason), c.Message)
	}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
	GinkgoWriter.Printf("ClusterTokenIssuer %s Ready=%s %s: %s\n", name, c.Status, c.Reason, c.Message)
	return c
}

// tokenCondition waits until the token's Ready reason is reason, and shows the condition in the spec's output.
func tokenCondition(tok *cfv1.CloudflareToken, reason string) *metav1.Condition {
	c := waitReason(client.ObjectKeyFromObject(tok), reason)
	GinkgoWriter.Printf("CloudflareToken %s Ready=%s %s: %s\n", tok.Name, c.Status, c.Reason, c.Message)
	return c
}

// createTokenFor creates a CloudflareToken through issuer in a fresh namespace; it is deleted (and waited
// for) when the spec ends.
func createTokenFor(issuer, name string, mutate ...func(*cfv1.CloudflareToken)) *cfv1.CloudflareToken {
	tok := newToken(newNamespace(), name, append([]func(*cfv1.CloudflareToken){func(t *cfv1.CloudflareToken) {
		t.Spec.IssuerRef = cfv1.IssuerRef{Kind: "ClusterTokenIssuer", Name: issuer}
	}}, mutate...)...)
	Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
	DeferCleanup(func() { deleteIfPresent(tok) })
	return tok
}

// deleteIfPresent deletes obj and waits until it is gone; an object already gone is fine.
func deleteIfPresent(obj client.Object) {
	Expect(client.IgnoreNotFound(k8sClient.Delete(suiteCtx, obj))).To(Succeed())
	Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(obj), obj))
	}, 20*time.Second, 50*time.Millisecond).Should(BeTrue())
}

// nextAttempt finds the absolute time of the next attempt in a message.
var nextAttempt = regexp.MustCompile(`next attempt at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)`)

func expectNextAttemptWithin(msg string, from time.Time, within time.Duration) {
	m := nextAttempt.FindStringSubmatch(msg)
	Expect(m).To(HaveLen(2), "no retry time in %q", msg)
	at, err := time.Parse(time.RFC3339, m[1])
	Expect(err).NotTo(HaveOccurred())
	Expect(at).To(BeTemporally(">=", from.Truncate(time.Second)))
	Expect(at).To(BeTemporally("<=", from.Add(within)))
}

var _ = Describe("conditions that explain each Cloudflare failure", func() {
	It("IPRestricted: the parent token's IP filter excludes this cluster's address (9109)", func() {
		seedParentIssuer("explain-ip", cloudflaretest.SeedToken{Policies: parentPolicies(), RequestIPIn: []string{"203.0.113.0/24"}})
		c := waitIssuerReason("explain-ip", "IPRestricted")
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Message).To(ContainSubstring("code 9109"))
		Expect(c.Message).To(ContainSubstring("Cannot use the access token from location: 127.0.0.1"))
		Expect(c.Message).To(ContainSubstring("IP filter excludes this cluster's egress address"))
		Expect(c.Message).To(ContainSubstring("Client IP Address Filtering"))

		tok := createTokenFor("explain-ip", "ip")
		c = tokenCondition(tok, "IssuerNotReady")
		Expect(c.Message).To(ContainSubstring("ClusterTokenIssuer/explain-ip is not Ready"))
		Expect(c.Message).To(ContainSubstring("IP filter excludes"))
		expectNoMintAttempt(tok, 300*time.Millisecond)
	})

	It("PermissionDenied: the parent lacks API Tokens Write, and the message names it", func() {
		seedParentIssuer("explain-noperm", cloudflaretest.SeedToken{Policies: parentPolicies()[1:]})
		waitIssuerReady("explain-noperm")
		tok := createTokenFor("explain-noperm", "noperm")
		c := tokenCondition(tok, "PermissionDenied")
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Message).To(ContainSubstring("code 9109"))
		Expect(c.Message).To(ContainSubstring(`the parent credential lacks "API Tokens Write" (tokenOwner User)`))
		expectNextAttemptWithin(c.Message, time.Now().Add(-time.Minute), 20*time.Minute)
		expectNoMintAttempt(tok, 300*time.Millisecond)
	})

	It("PermissionDenied: the parent cannot read a zone named by id (10000), and the message names Zone Read", func() {
		policies := parentPolicies()
		policies[1].Resources = map[string]any{"com.cloudflare.api.account.zone." + fake.ZoneID("example.com"): "*"}
		seedParentIssuer("explain-nozone", cloudflaretest.SeedToken{Policies: policies})
		waitIssuerReady("explain-nozone")
		tok := createTokenFor("explain-nozone", "nozone", func(t *cfv1.CloudflareToken) {
			t.Spec.Zones = []string{fake.ZoneID("example.org")}
		})
		c := tokenCondition(tok, "PermissionDenied")
		Expect(c.Message).To(ContainSubstring("code 10000"))
		Expect(c.Message).To(ContainSubstring(`the parent credential lacks "Zone Read" on the zones the token names`))
		expectNoMintAttempt(tok, 300*time.Millisecond)
	})

	It("Authentication: the parent token expired (1000)", func() {
		expired := time.Now().Add(-time.Hour)
		seedParentIssuer("explain-expired", cloudflaretest.SeedToken{Policies: parentPolicies(), ExpiresOn: &expired})
		c := waitIssuerReason("explain-expired", "Authentication")
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Message).To(ContainSubstring("code 1000"))
		Expect(c.Message).To(ContainSubstring("Invalid API Token"))
		Expect(c.Message).To(ContainSubstring("revoked or expired; create a new one and update the credential Secret"))
	})

	It("Authentication: the parent token is revoked after the issuer was verified, and the token says so (1000)", func() {
		id, value := fake.Seed(cloudflaretest.SeedToken{Name: "explain parent revoked", Policies: parentPolicies()})
		DeferCleanup(func() { fake.RevokeOutOfBand(id) })
		createSecretFor("explain-revoked", map[string]string{"api-token": value})
		createClusterIssuer("explain-revoked", cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: "explain-revoked"}})
		waitIssuerReady("explain-revoked")
		fake.RevokeOutOfBand(id)
		tok := createTokenFor("explain-revoked", "revoked")
		c := tokenCondition(tok, "Authentication")
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Message).To(ContainSubstring("Invalid API Token"))
		Expect(c.Message).To(ContainSubstring("the parent token is unknown, revoked or expired"))
	})

	It("UnknownAPIKey: a global API key with the wrong e-mail (9103)", func() {
		key, _ := fake.GlobalAPIKey()
		createSecretFor("explain-key", map[string]string{"api-key": key})
		createClusterIssuer("explain-key", cfv1.IssuerSpec{
			APIKeySecretRef: &cfv1.SecretKeyRef{Name: "explain-key", Key: "api-key"}, Email: "someone-else@example.com"})
		c := waitIssuerReason("explain-key", "UnknownAPIKey")
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Message).To(ContainSubstring("code 9103"))
		Expect(c.Message).To(ContainSubstring("the global API key or e-mail is wrong; check the key Secret and spec.email"))
		Expect(c.Message).NotTo(ContainSubstring(key))
	})

	It("UnknownPermission: names the closest valid permission groups", func() {
		tok := createTokenFor(issuerName, "perm-typo", func(t *cfv1.CloudflareToken) {
			t.Spec.Permissions = []string{"Zone Read", "DNS Wirte"}
		})
		c := tokenCondition(tok, "UnknownPermission")
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Message).To(ContainSubstring(`spec.permissions: unknown permission group: unknown permission group "DNS Wirte"`))
		Expect(c.Message).To(ContainSubstring(`did you mean ["DNS Write"]?`))
		expectNoMintAttempt(tok, 300*time.Millisecond)
	})

	It("UnknownZone: names the closest valid zones and the Zone Read the parent may lack", func() {
		tok := createTokenFor(issuerName, "zone-typo", func(t *cfv1.CloudflareToken) { t.Spec.Zones = []string{"exmaple.net"} })
		c := tokenCondition(tok, "UnknownZone")
		Expect(c.Message).To(ContainSubstring(`spec.zones: unknown zone: zone "exmaple.net" not found`))
		Expect(c.Message).To(ContainSubstring("closest valid names: example.net"))
		Expect(c.Message).To(ContainSubstring(`if the zone exists, give the parent credential "Zone Read" on it`))
	})

	It("QuotaExceeded: the user holds as many tokens as Cloudflare allows", func() {
		// A parent of its own, so that no other credential's inventory counts the fillers below.
		seedParentIssuer("explain-quota", cloudflaretest.SeedToken{Policies: parentPolicies()})
		waitIssuerReady("explain-quota")
		held := 0
		for _, t := range fake.Tokens() {
			if t.Owner == "User" {
				held++
			}
		}
		// Fill the user's quota of 50 with foreign tokens; they go when the spec ends.
		for i := held; i < 50; i++ {
			id, _ := fake.Seed(cloudflaretest.SeedToken{Name: "explain quota filler"})
			DeferCleanup(func() { fake.RevokeOutOfBand(id) })
		}
		tok := createTokenFor("explain-quota", "quota")
		start := time.Now()
		c := tokenCondition(tok, "QuotaExceeded")
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		// Refused by the operator's own count, or by Cloudflare when a token went between the count and the
		// create: the same reason and advice either way.
		Expect(c.Message).To(MatchRegexp(`holds (\d+ of its 50 tokens|the maximum of 50 API tokens)`))
		Expect(c.Message).To(ContainSubstring("delete unused tokens"))
		expectNextAttemptWithin(c.Message, start, 2*time.Minute)
		Expect(liveTokensOf(tok)).To(BeEmpty())
	})

	It("RateLimited: says when it will retry, and recovers when the storm ends", func() {
		// A parent of its own: its first requests (zones, inventory) meet the storm, whatever the caches of
		// other specs hold.
		seedParentIssuer("explain-storm", cloudflaretest.SeedToken{Policies: parentPolicies()})
		waitIssuerReady("explain-storm")
		fake.SetRateLimitStorm(true)
		DeferCleanup(func() { fake.SetRateLimitStorm(false) })
		start := time.Now()
		tok := createTokenFor("explain-storm", "storm")
		c := tokenCondition(tok, "RateLimited")
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Message).To(ContainSubstring("HTTP 429, code 971"))
		Expect(c.Message).To(ContainSubstring("Cloudflare asked to wait 1s"))
		expectNextAttemptWithin(c.Message, start, time.Minute)
		fake.SetRateLimitStorm(false)
		waitReady(client.ObjectKeyFromObject(tok))
	})
})

// withAnyZoneScope lets an issuer without bounds of its own mint any zone-scoped permission on any zone
// (empty allow-lists allow nothing).
func withAnyZoneScope(spec cfv1.IssuerSpec) cfv1.IssuerSpec {
	if spec.AllowedZones == nil {
		spec.AllowedZones = []string{"*"}
	}
	if spec.AllowedPermissions == nil {
		spec.AllowedPermissions = []string{"*"}
	}
	return spec
}
