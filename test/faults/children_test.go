package faults_test

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

// Cloudflare's rate limit is per user: the tokens the operator minted, used by cert-manager and external-dns,
// eat the parent's bucket. The operator cannot count their requests; it reads what is left from the
// Ratelimit header on every answer.
var _ = Describe("children using 1,150 of the user's 1,200 requests", Ordered, func() {
	It("rotates 30 tokens with zero answers of 429, pacing by what Cloudflare says is left", func() {
		const (
			tokens   = 30
			cfLimit  = 1200
			window   = time.Minute // the fake's window, shortened from Cloudflare's 5 minutes to keep the spec short
			children = 1150
		)
		h := newHarness("faults-children", 1000, cloudflaretest.WithRateLimit(cfLimit, window))
		h.cfg.DriftInterval = 30 * time.Second
		h.start("children")
		h.issuer("children", cfv1.TokenOwnerUser, h.fake.AccountID(), h.fake.UserParentToken())
		waitIssuerReady("children")
		ns := newNamespace("children")
		keys := createTokens(ns, tokens, "children")
		old := map[client.ObjectKey]string{}
		for _, k := range keys {
			Eventually(func(g Gomega) { old[k] = h.expectServing(g, k).Status.TokenID }, time.Minute, 100*time.Millisecond).Should(Succeed())
		}

		By("the children spend 1,150 requests of a fresh window")
		h.fake.ResetRateLimits()
		h.fake.ResetCounts()
		start := time.Now()
		values := make([]string, 0, len(keys))
		for _, k := range keys {
			sec := &corev1.Secret{}
			Expect(k8sClient.Get(suiteCtx, k, sec)).To(Succeed())
			values = append(values, string(sec.Data["api-token"]))
		}
		var childOK, childRefused atomic.Int32
		var wg sync.WaitGroup
		for w := range 10 {
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				for i := w; i < children; i += 10 {
					if childRequest(h.fake, values[i%len(values)]) == http.StatusOK {
						childOK.Add(1)
					} else {
						childRefused.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		Expect(childOK.Load()).To(BeEquivalentTo(children))
		burst := time.Since(start)

		By("the operator rotates every token: about 60 requests, with 50 left")
		rotateAt := time.Now()
		for _, k := range keys {
			tok := &cfv1.CloudflareToken{}
			Expect(k8sClient.Get(suiteCtx, k, tok)).To(Succeed())
			before := tok.DeepCopy()
			if tok.Annotations == nil {
				tok.Annotations = map[string]string{}
			}
			tok.Annotations[cfv1.AnnotationRotate] = "children"
			Expect(k8sClient.Patch(suiteCtx, tok, client.MergeFrom(before))).To(Succeed())
		}
		for _, k := range keys {
			Eventually(func(g Gomega) {
				tok := h.expectServing(g, k)
				g.Expect(tok.Status.TokenID).NotTo(Equal(old[k]))
				g.Expect(tok.Status.RetiringTokens).To(BeEmpty())
			}, 4*window, 250*time.Millisecond).Should(Succeed())
		}
		rotated := time.Since(rotateAt)
		reqs := h.requestsSince(start)
		tooMany := answersOf429(h.fake)
		_, _, failed := h.obs.snapshot()
		summary.printf("8 children", "fake limit %d per %s per user; %d child requests in %s (refused: %d); then %d rotations done in %s with %d operator requests (%s); answers of 429: %d (fake's count, children's and operator's) / %d (operator's); most requests in any %s window: %d; operator passes that waited for the budget: %d",
			cfLimit, window, children, burst.Round(100*time.Millisecond), childRefused.Load(), tokens, rotated.Round(100*time.Millisecond),
			len(reqs), routeCounts(reqs), tooMany, countStatus(reqs, http.StatusTooManyRequests), window,
			h.fake.MaxRequestsInWindow(window), failed["RateLimited"])
		Expect(tooMany).To(BeZero(), "answers of 429")
		Expect(h.fake.MaxRequestsInWindow(window)).To(BeNumerically("<=", cfLimit))
		Expect(h.orphans()).To(BeEmpty())
		// After all that, the children still get through.
		Expect(childRequest(h.fake, values[0])).To(Equal(http.StatusUnauthorized), "the rotated-away value is revoked")
		sec := &corev1.Secret{}
		Expect(k8sClient.Get(suiteCtx, keys[0], sec)).To(Succeed())
		Expect(childRequest(h.fake, string(sec.Data["api-token"]))).To(Equal(http.StatusOK))
	})
})

// childRequest is what cert-manager does first: look up its zone with the token from its Secret.
func childRequest(fake *cloudflaretest.Server, value string) int {
	status, err := fake.UseToken(value)
	Expect(err).NotTo(HaveOccurred())
	return status
}
