package faults_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

var _ = Describe("500 account-owned tokens at once under the rate limit", Ordered, func() {
	It("mints them all with 0 answers of 429 and never more than the budget in any 5-minute window", func() {
		const (
			perAccount = 250
			budget     = 1000 // --api-requests-per-5m, the default
			cfLimit    = 1200 // Cloudflare's: 1200 requests per 5 minutes per credential
		)
		accounts := []string{"0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"}
		h := newHarness("faults-rate", budget,
			cloudflaretest.WithAccounts(accounts...),
			cloudflaretest.WithZones(accounts[0], "a.example"),
			cloudflaretest.WithZones(accounts[1], "b.example"),
			cloudflaretest.WithRateLimit(cfLimit, 5*time.Minute))
		// Drift checks every 10 s: the spec is about the mints, not about sweeps.
		h.cfg.DriftInterval = 10 * time.Second
		h.start("rate")
		zones := map[string]string{accounts[0]: "a.example", accounts[1]: "b.example"}
		for i, acct := range accounts {
			h.issuer(fmt.Sprintf("rate-%d", i), cfv1.TokenOwnerAccount, acct, h.fake.AccountParentToken(acct))
		}
		for i := range accounts {
			waitIssuerReady(fmt.Sprintf("rate-%d", i))
		}
		ns := newNamespace("rate")
		toks := make([]*cfv1.CloudflareToken, 0, len(accounts)*perAccount)
		for i := range perAccount {
			for a, acct := range accounts {
				toks = append(toks, newToken(ns, fmt.Sprintf("t-%d-%d", a, i), fmt.Sprintf("rate-%d", a), zones[acct]))
			}
		}
		start := time.Now()
		createConcurrently(toks)
		applied := time.Since(start)
		Eventually(func() int { return readyCounts(ns)["TokenReady"] }, 4*time.Minute, 250*time.Millisecond).Should(Equal(len(toks)))
		allReady := time.Since(start)

		live := h.mine()
		for _, t := range toks {
			Eventually(func(g Gomega) {
				h.expectExactlyOne(g, h.expectServing(g, client.ObjectKeyFromObject(t)), live)
			}).Should(Succeed())
		}
		Expect(h.orphans()).To(BeEmpty())
		reqs := h.requestsSince(start)
		perCred := maxPerCredential(reqs, 5*time.Minute)
		tooMany := answersOf429(h.fake)
		summary.printf("3 rate", "%d account-owned tokens over 2 accounts applied in %s, all Ready in %s (%.1f tokens/s), MaxConcurrentReconciles %d",
			len(toks), applied.Round(100*time.Millisecond), allReady.Round(100*time.Millisecond), float64(len(toks))/allReady.Seconds(), h.cfg.MaxConcurrentReconciles)
		summary.printf("3 rate", "fake limit %d/5m per credential, operator budget %d/5m per credential: answers of 429 %d (fake's count) / %d (operator's); most requests in any 5-minute window: %d over both credentials (fake's MaxRequestsInWindow), per credential %v",
			cfLimit, budget, tooMany, countStatus(reqs, 429), h.fake.MaxRequestsInWindow(5*time.Minute), perCred)
		summary.printf("3 rate", "requests: %d (%s)", len(reqs), routeCounts(reqs))

		Expect(tooMany).To(BeZero(), "answers of 429")
		Expect(countStatus(reqs, 429)).To(BeZero())
		for cred, n := range perCred {
			Expect(n).To(BeNumerically("<=", budget), "credential %s", cred)
		}
		Expect(h.fake.MaxRequestsInWindow(5 * time.Minute)).To(BeNumerically("<=", budget))
	})
})
