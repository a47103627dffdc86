package controller_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

// The issuer reads its parent token's conditions at each verification and says whether it follows
// Cloudflare's advice for a token that can create tokens: a client IP filter and an expiry.
var _ = Describe("CredentialHardened", func() {
	hardened := func(name string) *metav1.Condition {
		var c *metav1.Condition
		Eventually(func(g Gomega) {
			iss := &cfv1.ClusterTokenIssuer{}
			g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Name: name}, iss)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(iss.Status.Conditions, cfv1.ConditionReady)).To(BeTrue(), "%+v", iss.Status.Conditions)
			c = meta.FindStatusCondition(iss.Status.Conditions, cfv1.ConditionCredentialHardened)
			g.Expect(c).NotTo(BeNil())
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
		return c
	}

	It("is False, naming both measures, for a parent with neither", func() {
		c := hardened(issuerName)
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Reason).To(Equal("NotHardened"))
		Expect(c.Message).To(ContainSubstring("Client IP Address Filtering"))
		Expect(c.Message).To(ContainSubstring("TTL"))
	})

	It("names only the missing measure", func() {
		seedParentIssuer("hardening-ip-only", cloudflaretest.SeedToken{Policies: parentPolicies(),
			RequestIPIn: []string{"127.0.0.0/8", "::1/128"}})
		c := hardened("hardening-ip-only")
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Message).NotTo(ContainSubstring("Client IP Address Filtering"))
		Expect(c.Message).To(ContainSubstring("TTL"))
	})

	It("is True for a parent with a client IP filter and an expiry", func() {
		expires := time.Now().Add(90 * 24 * time.Hour)
		seedParentIssuer("hardening-both", cloudflaretest.SeedToken{Policies: parentPolicies(),
			RequestIPIn: []string{"127.0.0.0/8", "::1/128"}, ExpiresOn: &expires})
		c := hardened("hardening-both")
		Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		Expect(c.Reason).To(Equal("Hardened"))
	})

	It("is absent for a Global API Key, which can carry neither", func() {
		key, email := fake.GlobalAPIKey()
		createSecretFor("hardening-key", map[string]string{"api-key": key})
		createClusterIssuer("hardening-key", cfv1.IssuerSpec{APIKeySecretRef: &cfv1.SecretKeyRef{Name: "hardening-key"},
			Email: email})
		waitIssuerReady("hardening-key")
		Consistently(func(g Gomega) {
			iss := &cfv1.ClusterTokenIssuer{}
			g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Name: "hardening-key"}, iss)).To(Succeed())
			g.Expect(meta.FindStatusCondition(iss.Status.Conditions, cfv1.ConditionCredentialHardened)).To(BeNil())
		}, time.Second, 100*time.Millisecond).Should(Succeed())
	})
})
