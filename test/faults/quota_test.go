package faults_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

var _ = Describe("60 user-owned tokens against the user quota of 50", Ordered, func() {
	It("makes the tokens that fit Ready, the rest QuotaExceeded, without a retry storm", func() {
		const (
			n         = 60
			quota     = 50 // Cloudflare's user quota, the fake's default
			headroom  = 1  // max(1, 50/50): kept free so that a rotation (two tokens for a moment) still fits
			parents   = 1  // the user-owned parent token counts against the same quota
			wantReady = quota - headroom - parents
			window    = 70 * time.Second // QuotaExceeded retries wait at least a minute
			drift     = 20 * time.Second
		)
		h := newHarness("faults-quota", 1000)
		h.cfg.DriftInterval = drift
		h.start("quota")
		h.issuer("quota", cfv1.TokenOwnerUser, h.fake.AccountID(), h.fake.UserParentToken())
		waitIssuerReady("quota")
		ns := newNamespace("quota")
		toks := make([]*cfv1.CloudflareToken, 0, n)
		for i := range n {
			toks = append(toks, newToken(ns, fmt.Sprintf("t-%d", i), "quota", "example.com"))
		}
		start := time.Now()
		createConcurrently(toks)
		Eventually(func() map[string]int { return readyCounts(ns) }, 2*time.Minute, 250*time.Millisecond).
			Should(Equal(map[string]int{"TokenReady": wantReady, "QuotaExceeded": n - wantReady}))
		settled := time.Since(start)
		Expect(userTokens(h)).To(Equal(quota - headroom))

		var sample *metav1.Condition
		for _, t := range toks {
			cur := &cfv1.CloudflareToken{}
			Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(t), cur)).To(Succeed())
			if c := meta.FindStatusCondition(cur.Status.Conditions, cfv1.ConditionReady); c.Reason == "QuotaExceeded" {
				Expect(cur.Status.Serial).To(BeZero(), "a QuotaExceeded resource asked Cloudflare for a token")
				sample = c
			}
		}
		_, _, failedBefore := h.obs.snapshot()
		quiet := time.Now()
		time.Sleep(window)
		reqs := h.requestsSince(quiet)
		_, _, failedAfter := h.obs.snapshot()
		lists, other := 0, 0
		for _, r := range reqs {
			if r.method == "GET" && r.path == "/user/tokens" {
				lists++
			} else {
				other++
			}
		}
		retries := failedAfter["QuotaExceeded"] - failedBefore["QuotaExceeded"]
		Expect(readyCounts(ns)).To(Equal(map[string]int{"TokenReady": wantReady, "QuotaExceeded": n - wantReady}))
		Expect(other).To(BeZero(), "requests other than drift sweeps while settled: %s", routeCounts(reqs))
		Expect(h.orphans()).To(BeEmpty())

		// The issuer's status shows what its owner holds against the quota (refreshed every drift interval).
		iss := &cfv1.ClusterTokenIssuer{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Name: "quota"}, iss)).To(Succeed())
			g.Expect(iss.Status.TokenQuota).To(BeEquivalentTo(quota))
			g.Expect(iss.Status.TokensHeld).To(HaveValue(BeEquivalentTo(quota - headroom)))
		}, 2*drift+5*time.Second, 200*time.Millisecond).Should(Succeed())
		held := fmt.Sprint(*iss.Status.TokensHeld)
		summary.printf("4 quota", "%d user-owned tokens requested, user quota %d: %d Ready (= %d - %d rotation headroom - %d parent token, which is user-owned and counts), %d QuotaExceeded; settled in %s; the fake holds %d user-owned tokens (the parent included); issuer status tokensHeld %s / tokenQuota %d",
			n, quota, wantReady, quota, headroom, parents, n-wantReady, settled.Round(100*time.Millisecond), userTokens(h), held, iss.Status.TokenQuota)
		summary.printf("4 quota", "QuotaExceeded message: %q", shorten(sample.Message, 200))
		summary.printf("4 quota", "over %s after settling: %d QuotaExceeded retries (passes), %d Cloudflare requests: %d token-list pages (drift sweeps, every %s, shared by all %d Ready tokens), %d others (%s)",
			window, retries, len(reqs), lists, drift, wantReady, other, strings.TrimSpace(routeCounts(reqs)))
	})
})

// userTokens counts the fake's live user-owned tokens (the parent included).
func userTokens(h *harness) int {
	n := 0
	for _, t := range h.fake.Tokens() {
		if t.Owner == "User" {
			n++
		}
	}
	return n
}
