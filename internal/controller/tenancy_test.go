package controller_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

var _ = Describe("tenancy: issuers bound what can be minted", Ordered, func() {
	var teamNS, otherNS string

	BeforeAll(func() {
		teamNS, otherNS = newNamespace(), newNamespace()
		Expect(k8sClient.Create(suiteCtx, &cfv1.ClusterTokenIssuer{
			ObjectMeta: metav1.ObjectMeta{Name: "bounded"},
			Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
				APITokenSecretRef:   &cfv1.SecretKeyRef{Name: "cf-parent"},
				AllowedZones:        []string{"example.com"},
				AllowedPermissions:  []string{"Zone Read", "DNS Write"},
				MaxTTL:              &metav1.Duration{Duration: 720 * time.Hour},
				DefaultSourceRanges: &cfv1.SourceRanges{Allow: []cfv1.CIDR{"203.0.113.0/24"}},
			}},
		})).To(Succeed())
		Expect(k8sClient.Create(suiteCtx, &cfv1.ClusterTokenIssuer{
			ObjectMeta: metav1.ObjectMeta{Name: "selective"},
			Spec: cfv1.ClusterTokenIssuerSpec{
				IssuerSpec:        withAnyZoneScope(cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: "cf-parent"}}),
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"cloudflare-tokens": "allowed"}},
			},
		})).To(Succeed())
		// A tenant's issuer that tries to read the operator's parent credential from the operator namespace.
		Expect(k8sClient.Create(suiteCtx, &cfv1.TokenIssuer{
			ObjectMeta: metav1.ObjectMeta{Name: "borrowing", Namespace: teamNS},
			Spec:       withAnyZoneScope(cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: "cf-parent", Namespace: operatorNamespace}}),
		})).To(Succeed())
		// A cluster issuer pointed at a tenant's namespace for its credential.
		Expect(k8sClient.Create(suiteCtx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cf-parent", Namespace: otherNS},
			StringData: map[string]string{"api-token": fake.UserParentToken()}})).To(Succeed())
		Expect(k8sClient.Create(suiteCtx, &cfv1.ClusterTokenIssuer{
			ObjectMeta: metav1.ObjectMeta{Name: "tenant-credential"},
			Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: withAnyZoneScope(cfv1.IssuerSpec{
				APITokenSecretRef: &cfv1.SecretKeyRef{Name: "cf-parent", Namespace: otherNS}})},
		})).To(Succeed())
		// A TokenIssuer of another namespace, referenced from teamNS.
		Expect(k8sClient.Create(suiteCtx, &cfv1.TokenIssuer{
			ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: otherNS},
			Spec:       withAnyZoneScope(cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: "cf-parent"}}),
		})).To(Succeed())
		waitIssuerReady("bounded")
		waitIssuerReady("selective")
	})

	var table []*cfv1.CloudflareToken
	DescribeTable("refuses with a readable reason and mints nothing",
		func(name, issuerKind, issuerName string, mutate func(*cfv1.CloudflareToken), reason, message string) {
			tok := newToken(teamNS, name, func(t *cfv1.CloudflareToken) {
				t.Spec.IssuerRef = cfv1.IssuerRef{Kind: issuerKind, Name: issuerName}
			}, mutate)
			Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
			c := waitReason(client.ObjectKeyFromObject(tok), reason)
			Expect(c.Status).To(Equal(metav1.ConditionFalse))
			Expect(c.Message).To(ContainSubstring(message))
			table = append(table, tok)
		},
		Entry("a namespace the ClusterTokenIssuer does not select", "unselected", "ClusterTokenIssuer", "selective",
			func(*cfv1.CloudflareToken) {}, "NamespaceNotAllowed", "does not serve namespace"),
		Entry("a zone outside allowedZones", "zone", "ClusterTokenIssuer", "bounded",
			func(t *cfv1.CloudflareToken) { t.Spec.Zones = []string{"example.org"} }, "ZoneNotAllowed", `zone "example.org" (id `),
		Entry("a permission outside allowedPermissions", "perm", "ClusterTokenIssuer", "bounded",
			func(t *cfv1.CloudflareToken) { t.Spec.Permissions = []string{"Zone Read", "DNS Write", "Zone Write"} },
			"PermissionNotAllowed", `permission "Zone Write" is not in`),
		Entry("a ttl above maxTTL", "ttl", "ClusterTokenIssuer", "bounded",
			func(t *cfv1.CloudflareToken) { t.Spec.TTL = &metav1.Duration{Duration: 2000 * time.Hour} }, "TTLNotAllowed", "exceeds"),
		Entry("a source range outside defaultSourceRanges", "range", "ClusterTokenIssuer", "bounded",
			func(t *cfv1.CloudflareToken) {
				t.Spec.SourceRanges = &cfv1.SourceRanges{Allow: []cfv1.CIDR{"198.51.100.0/24"}}
			}, "SourceRangeNotAllowed", "198.51.100.0/24 is outside"),
		Entry("a TokenIssuer of another namespace", "foreign-issuer", "TokenIssuer", "elsewhere",
			func(*cfv1.CloudflareToken) {}, "IssuerNotFound", "a TokenIssuer serves only its own namespace"),
		Entry("a TokenIssuer whose credential is in a foreign namespace", "borrowed", "TokenIssuer", "borrowing",
			func(*cfv1.CloudflareToken) {}, "IssuerNotReady", "reads its credential only from namespace"),
		Entry("a ClusterTokenIssuer whose credential is outside the operator namespace", "tenant-cred", "ClusterTokenIssuer", "tenant-credential",
			func(*cfv1.CloudflareToken) {}, "IssuerNotReady", "reads its credential only from namespace \""+operatorNamespace+"\""),
	)

	It("made no token create attempt for any row", func() {
		Expect(table).To(HaveLen(8))
		for _, t := range table {
			expectNoMintAttempt(t, 300*time.Millisecond)
		}
	})

	It("takes effect on tokens already minted when the issuer is made stricter", func() {
		tok := newToken(teamNS, "was-fine", func(t *cfv1.CloudflareToken) {
			t.Spec.IssuerRef = cfv1.IssuerRef{Kind: "ClusterTokenIssuer", Name: "bounded"}
			t.Spec.SourceRanges = &cfv1.SourceRanges{Allow: []cfv1.CIDR{"203.0.113.0/25"}}
		})
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		info, _ := fake.Token(tok.Status.TokenID)
		Expect(info.RequestIPIn).To(ConsistOf("203.0.113.0/25"))

		iss := &cfv1.ClusterTokenIssuer{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Name: "bounded"}, iss)).To(Succeed())
		iss.Spec.AllowedPermissions = []string{"Zone Read"}
		Expect(k8sClient.Update(suiteCtx, iss)).To(Succeed())
		c := waitReason(client.ObjectKeyFromObject(tok), "PermissionNotAllowed")
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		cur := &cfv1.CloudflareToken{}
		Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(tok), cur)).To(Succeed())
		Expect(meta.IsStatusConditionTrue(cur.Status.Conditions, cfv1.ConditionStalled)).To(BeTrue())
	})
})
