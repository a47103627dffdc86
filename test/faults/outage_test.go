package faults_test

import (
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// outageWindow stands in for issue 6's five minutes of 5xx: long enough for three failed attempts per
// resource under the controller's backoff (5s, 10s, 20s).
const outageWindow = 20 * time.Second

// createConcurrently creates the tokens with a few workers, as `kubectl apply` of many files would.
func createConcurrently(toks []*cfv1.CloudflareToken) {
	var wg sync.WaitGroup
	ch := make(chan *cfv1.CloudflareToken)
	for range 8 {
		wg.Go(func() {
			defer GinkgoRecover()
			for t := range ch {
				Expect(k8sClient.Create(suiteCtx, t)).To(Succeed())
			}
		})
	}
	for _, t := range toks {
		ch <- t
	}
	close(ch)
	wg.Wait()
}

// readyCounts lists the namespace's CloudflareTokens and counts them by Ready reason ("TokenReady" for the
// Ready ones).
func readyCounts(ns string) map[string]int {
	list := &cfv1.CloudflareTokenList{}
	Expect(k8sClient.List(suiteCtx, list, client.InNamespace(ns))).To(Succeed())
	out := map[string]int{}
	for _, t := range list.Items {
		c := meta.FindStatusCondition(t.Status.Conditions, cfv1.ConditionReady)
		switch {
		case c == nil:
			out["none"]++
		case c.Status == metav1.ConditionTrue && c.Reason == "TokenReady" && t.Status.ObservedGeneration == t.Generation:
			out["TokenReady"]++
		default:
			out[c.Reason]++
		}
	}
	return out
}

var _ = Describe("deletion during a Cloudflare outage", Ordered, func() {
	It("holds the finalizers of 200 deleted resources, reports the failing revocations, and revokes every token once the API recovers", func() {
		const n = 200
		h := newHarness("faults-outage", 50_000, cloudflareRateLimitOff()...)
		h.start("outage")
		h.issuer("outage", cfv1.TokenOwnerAccount, h.fake.AccountID(), h.fake.AccountParentToken(h.fake.AccountID()))
		waitIssuerReady("outage")
		ns := newNamespace("outage")
		toks := make([]*cfv1.CloudflareToken, 0, n)
		for i := range n {
			toks = append(toks, newToken(ns, fmt.Sprintf("t-%d", i), "outage", "example.com"))
		}
		mintStart := time.Now()
		createConcurrently(toks)
		Eventually(func() int { return readyCounts(ns)["TokenReady"] }, 3*time.Minute, 250*time.Millisecond).Should(Equal(n))
		mintTime := time.Since(mintStart)
		Expect(h.mine()).To(HaveLen(n))

		By("answering every Cloudflare request with 500 while all 200 are deleted")
		h.fake.SetServerErrorRatio(1)
		outageStart := time.Now()
		failedBefore := h.obs.revocationFailed.Load()
		for _, t := range toks {
			Expect(k8sClient.Delete(suiteCtx, t)).To(Succeed())
		}
		// A revocation that keeps failing is reported, not dropped: Reconciling with the reason, a Warning
		// event, and the RevocationFailed observation (the metric).
		probe := client.ObjectKeyFromObject(toks[0])
		var reason, message string
		Eventually(func(g Gomega) {
			cur := &cfv1.CloudflareToken{}
			g.Expect(k8sClient.Get(suiteCtx, probe, cur)).To(Succeed())
			g.Expect(cur.DeletionTimestamp).NotTo(BeNil())
			c := meta.FindStatusCondition(cur.Status.Conditions, cfv1.ConditionReconciling)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).NotTo(Equal("Succeeded"))
			g.Expect(c.Message).To(ContainSubstring("revoking token " + toks[0].Status.TokenID))
			reason, message = c.Reason, c.Message
			ready := meta.FindStatusCondition(cur.Status.Conditions, cfv1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(c.Reason))
		}, outageWindow, 200*time.Millisecond).Should(Succeed())
		Eventually(func() []string { return warningEvents(ns, probe.Name) }, outageWindow, 200*time.Millisecond).
			Should(ContainElement(HavePrefix(reason + ": ")))
		Eventually(func() int64 { return h.obs.revocationFailed.Load() - failedBefore }, outageWindow).Should(BeNumerically(">=", n))
		summary.printf("2 outage", "revocation failing during the outage is reported: Reconciling=True reason %s, message %q; Warning event %q; RevocationFailed observations so far %d",
			reason, shorten(message, 160), shorten(warningEvents(ns, probe.Name)[0], 120), h.obs.revocationFailed.Load()-failedBefore)

		// The finalizers hold for the whole outage: every resource is still there, every token still live.
		Consistently(func(g Gomega) {
			list := &cfv1.CloudflareTokenList{}
			g.Expect(k8sClient.List(suiteCtx, list, client.InNamespace(ns))).To(Succeed())
			g.Expect(list.Items).To(HaveLen(n))
			for _, t := range list.Items {
				g.Expect(controllerutil.ContainsFinalizer(&t, cfv1.FinalizerRevokeTokens)).To(BeTrue())
			}
			g.Expect(h.mine()).To(HaveLen(n))
		}, outageWindow-time.Since(outageStart), time.Second).Should(Succeed())
		during := h.requestsSince(outageStart)
		failedDuring := h.obs.revocationFailed.Load() - failedBefore

		By("recovering the API")
		h.fake.SetServerErrorRatio(0)
		recovered := time.Now()
		Eventually(func() int {
			list := &cfv1.CloudflareTokenList{}
			Expect(k8sClient.List(suiteCtx, list, client.InNamespace(ns))).To(Succeed())
			return len(list.Items)
		}, 3*time.Minute, 250*time.Millisecond).Should(BeZero(), "finalizers still held after the API recovered")
		converged := time.Since(recovered)
		Expect(h.mine()).To(BeEmpty(), "tokens left at Cloudflare")
		Expect(h.orphans()).To(BeEmpty())
		after := h.requestsSince(recovered)
		_, revoked, _ := h.obs.snapshot()

		summary.printf("2 outage", "%d tokens minted in %s; outage of %s (every Cloudflare request answered 500) while all %d were deleted: %d requests during it (%d answered 500; %s), %d revocation failures observed; all finalizers held, all tokens live",
			n, mintTime.Round(100*time.Millisecond), recovered.Sub(outageStart).Round(time.Second), n, len(during),
			countStatus(during, 500), routeCounts(during), failedDuring)
		summary.printf("2 outage", "after recovery: all %d resources gone and %d tokens revoked in %s, %d requests (%s); revocations by why %v; 0 tokens left, 0 orphans",
			n, revoked["deletion"], converged.Round(100*time.Millisecond), len(after), routeCounts(after), revoked)
	})
})

func shorten(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
