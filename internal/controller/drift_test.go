package controller_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

var _ = Describe("drift", func() {
	It("restores a Secret deleted by hand", func() {
		ns := newNamespace()
		tok := newToken(ns, "deleted-secret")
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		waitReady(client.ObjectKeyFromObject(tok))
		sec, err := getSecret(ns, "deleted-secret")
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Delete(suiteCtx, sec)).To(Succeed())

		Eventually(func(g Gomega) {
			sec, err := getSecret(ns, "deleted-secret")
			g.Expect(err).NotTo(HaveOccurred())
			expectSecretHoldsLiveToken(g, sec, "api-token")
		}, 15*time.Second, 100*time.Millisecond).Should(Succeed())
	})

	It("restores a Secret whose value was edited by hand", func() {
		ns := newNamespace()
		tok := newToken(ns, "edited-secret")
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		waitReady(client.ObjectKeyFromObject(tok))
		sec, err := getSecret(ns, "edited-secret")
		Expect(err).NotTo(HaveOccurred())
		sec.Data["api-token"] = []byte("pasted-by-hand")
		Expect(k8sClient.Update(suiteCtx, sec)).To(Succeed())

		Eventually(func(g Gomega) {
			sec, err := getSecret(ns, "edited-secret")
			g.Expect(err).NotTo(HaveOccurred())
			expectSecretHoldsLiveToken(g, sec, "api-token")
		}, 15*time.Second, 100*time.Millisecond).Should(Succeed())
	})

	It("replaces a token revoked at Cloudflare out of band within the drift interval", func() {
		ns := newNamespace()
		tok := newToken(ns, "revoked-oob")
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		fake.RevokeOutOfBand(tok.Status.TokenID)
		revokedAt := time.Now()

		Eventually(func(g Gomega) {
			sec, err := getSecret(ns, "revoked-oob")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(expectSecretHoldsLiveToken(g, sec, "api-token")).NotTo(Equal(tok.Status.TokenID))
			// One sweep interval, plus the time the sweep and the mint take on a loaded machine.
		}, driftInterval+3*time.Second, 100*time.Millisecond).Should(Succeed())
		GinkgoWriter.Printf("out-of-band revocation replaced after %s (drift interval %s)\n", time.Since(revokedAt), driftInterval)
	})

	It("replaces a token disabled at Cloudflare out of band", func() {
		ns := newNamespace()
		tok := newToken(ns, "disabled-oob")
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		fake.DisableOutOfBand(tok.Status.TokenID)

		Eventually(func(g Gomega) {
			cur := &cfv1.CloudflareToken{}
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(tok), cur)).To(Succeed())
			g.Expect(cur.Status.TokenID).NotTo(Equal(tok.Status.TokenID))
			sec, err := getSecret(ns, "disabled-oob")
			g.Expect(err).NotTo(HaveOccurred())
			expectSecretHoldsLiveToken(g, sec, "api-token")
		}, 3*driftInterval+5*time.Second, 100*time.Millisecond).Should(Succeed())
	})
})
