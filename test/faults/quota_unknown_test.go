package faults_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

// Cloudflare documents no code for "quota reached". A create refused with a code the operator does not know,
// while the owner is at its quota, must wait for a free slot (QuotaExceeded), not stall as an invalid request.
var _ = Describe("a quota refusal with an undocumented code", Ordered, func() {
	It("is QuotaExceeded, not a stalled InvalidRequest, and mints once a slot is free", func() {
		h := newHarness("faults-quota-code", 1000)
		h.cfg.DriftInterval = 5 * time.Minute // the operator's count stays as it was: only Cloudflare knows better
		h.start("quota-code")
		h.issuer("quota-code", cfv1.TokenOwnerUser, h.fake.AccountID(), h.fake.UserParentToken())
		waitIssuerReady("quota-code")
		ns := newNamespace("quota-code")
		first := createTokens(ns, 1, "quota-code")[0]
		Eventually(func(g Gomega) { h.expectServing(g, first) }, 30*time.Second).Should(Succeed())

		h.fake.SetQuotaAnswer(1399, "Request refused")
		foreign := make([]string, 0, 48)
		for i := range 48 { // made elsewhere, after the operator's last list: the user now holds all 50
			id, _ := h.fake.Seed(cloudflaretest.SeedToken{Name: fmt.Sprintf("made by hand %d", i)})
			foreign = append(foreign, id)
		}
		second := newToken(ns, "second", "quota-code", "example.com")
		Expect(k8sClient.Create(suiteCtx, second)).To(Succeed())
		key := client.ObjectKeyFromObject(second)
		var msg string
		Eventually(func(g Gomega) {
			cur := &cfv1.CloudflareToken{}
			g.Expect(k8sClient.Get(suiteCtx, key, cur)).To(Succeed())
			ready := meta.FindStatusCondition(cur.Status.Conditions, cfv1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal("QuotaExceeded"), ready.Message)
			g.Expect(meta.IsStatusConditionTrue(cur.Status.Conditions, cfv1.ConditionStalled)).To(BeFalse())
			msg = ready.Message
		}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
		Expect(msg).To(ContainSubstring("code 1399"))
		Expect(msg).To(ContainSubstring("taken for the token quota"))

		freed := time.Now()
		for _, id := range foreign[:5] {
			h.fake.RevokeOutOfBand(id)
		}
		Eventually(func(g Gomega) { h.expectServing(g, key) }, 3*time.Minute, 250*time.Millisecond).Should(Succeed())
		summary.printf("9 quota code", "create refused with HTTP 400, code 1399 (no code the operator knows) while the user held 50 of 50: condition %q; "+
			"Ready %s after 5 tokens were deleted elsewhere (QuotaExceeded retries wait at least a minute)",
			shorten(msg, 220), time.Since(freed).Round(100*time.Millisecond))
	})
})
