package faults_test

import (
	"fmt"
	"math"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/uuid"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/tokenname"
)

var _ = Describe("orphans and foreign tokens", Ordered, func() {
	It("revokes exactly the 20 seeded orphans with this cluster's mark and none of the 5 foreign tokens", func() {
		h := newHarness("faults-orphans", 1000)
		h.start("orphans")
		h.issuer("orphans", cfv1.TokenOwnerUser, h.fake.AccountID(), h.fake.UserParentToken())
		waitIssuerReady("orphans")
		ns := newNamespace("orphans")
		keys := createTokens(ns, 3, "orphans")
		recorded := make([]string, 0, len(keys))
		for _, k := range keys {
			var id string
			Eventually(func(g Gomega) { id = h.expectServing(g, k).Status.TokenID }, 30*time.Second).Should(Succeed())
			recorded = append(recorded, id)
		}

		policy := []cloudflaretest.Policy{{Effect: "allow", PermissionGroupIDs: []string{cloudflaretest.PermZoneRead},
			Resources: map[string]any{cloudflare.ZoneResource(h.fake.ZoneID("example.net")): "*"}}}
		mark := tokenname.ClusterHash(h.clusterName)
		orphans, foreign := make([]string, 0, 20), make([]string, 0, 5)
		for i := range 20 {
			name := tokenname.Name{Cluster: mark, UID: uuid.NewUUID(), Serial: int64(1 + i%3)}.
				Format("gone", fmt.Sprintf("deleted-without-finalizer-%d", i))
			id, _ := h.fake.Seed(cloudflaretest.SeedToken{Name: name, Policies: policy})
			orphans = append(orphans, id)
		}
		for _, name := range []string{
			tokenname.Name{Cluster: tokenname.ClusterHash("another-cluster"), UID: uuid.NewUUID(), Serial: 1}.Format("x", "y"),
			tokenname.Name{Cluster: tokenname.ClusterHash("staging"), UID: uuid.NewUUID(), Serial: 4}.Format("a", "b"),
			"laptop token made by hand",
			"cert-manager dns01 (terraform)",
			"cfto:" + mark + ":not-a-uid:1 looks like ours but is not",
		} {
			id, _ := h.fake.Seed(cloudflaretest.SeedToken{Name: name, Policies: policy})
			foreign = append(foreign, id)
		}
		seeded := time.Now()
		before := len(h.fake.Tokens()) // parents, the 3 recorded tokens, the seeded ones
		left := func() []string {
			var out []string
			for _, id := range orphans {
				if _, ok := h.fake.Token(id); ok {
					out = append(out, id)
				}
			}
			return out
		}
		Eventually(left, time.Minute, 100*time.Millisecond).Should(BeEmpty())
		allRevoked := time.Since(seeded)
		// Two more sweeps: nothing else goes.
		Consistently(func(g Gomega) {
			for _, id := range append(append([]string(nil), foreign...), recorded...) {
				_, ok := h.fake.Token(id)
				g.Expect(ok).To(BeTrue(), "token %s was revoked", id)
			}
		}, 2*h.cfg.DriftInterval+time.Second, 200*time.Millisecond).Should(Succeed())
		reqs := h.requestsSince(seeded)
		deletes := 0
		for _, r := range reqs {
			if r.method == "DELETE" {
				deletes++
			}
		}
		_, revoked, _ := h.obs.snapshot()
		Expect(deletes).To(Equal(20), "DELETE requests")
		Expect(revoked["orphan"]).To(Equal(20))
		Expect(h.fake.Tokens()).To(HaveLen(before - len(orphans)))
		summary.printf("5 orphans", "20 orphans with this cluster's mark and 5 foreign tokens seeded beside 3 live resources (OrphanGrace %s, sweep every %s): all 20 revoked %s after seeding; exactly %d DELETE requests, revocations by why %v; the 5 foreign and 3 recorded tokens untouched; requests since seeding: %s",
			h.cfg.OrphanGrace, h.cfg.DriftInterval, allRevoked.Round(100*time.Millisecond), deletes, revoked, routeCounts(reqs))
	})
})

var _ = Describe("drift", Ordered, func() {
	It("replaces a token revoked out of band within the drift interval, listing ceil(tokens/50) pages per sweep", func() {
		const (
			perIssuer = 60
			drift     = 5 * time.Second
		)
		h := newHarness("faults-drift", 1000)
		h.cfg.DriftInterval = drift
		h.cfg.OrphanGrace = time.Minute
		h.start("drift")
		// Two issuers on the same account credential share one token list: one sweep serves both.
		acct := h.fake.AccountID()
		h.issuer("drift-a", cfv1.TokenOwnerAccount, acct, h.fake.AccountParentToken(acct))
		h.issuer("drift-b", cfv1.TokenOwnerAccount, acct, h.fake.AccountParentToken(acct))
		waitIssuerReady("drift-a")
		waitIssuerReady("drift-b")
		ns := newNamespace("drift")
		toks := make([]*cfv1.CloudflareToken, 0, 2*perIssuer)
		for i := range perIssuer {
			toks = append(toks, newToken(ns, fmt.Sprintf("a-%d", i), "drift-a", "example.com"),
				newToken(ns, fmt.Sprintf("b-%d", i), "drift-b", "example.org"))
		}
		createConcurrently(toks)
		Eventually(func() int { return readyCounts(ns)["TokenReady"] }, 2*time.Minute, 250*time.Millisecond).Should(Equal(len(toks)))
		total := len(h.fake.Tokens()) // the parent is account-owned and listed too
		pagesPerSweep := int(math.Ceil(float64(total) / 50))

		By("counting the list calls of each sweep while nothing changes")
		quiet := time.Now()
		time.Sleep(4 * drift)
		sweeps, lists, maxPages := sweepsOf(h.requestsSince(quiet))
		Expect(sweeps).To(BeNumerically(">", 0))
		Expect(maxPages).To(BeNumerically("<=", pagesPerSweep))

		By("revoking tokens out of band, one at a time")
		delays := make([]time.Duration, 0, 5)
		for i := range 5 {
			key := client.ObjectKeyFromObject(toks[i*7])
			cur := &cfv1.CloudflareToken{}
			Expect(k8sClient.Get(suiteCtx, key, cur)).To(Succeed())
			old := cur.Status.TokenID
			h.fake.RevokeOutOfBand(old)
			revoked := time.Now()
			Eventually(func(g Gomega) {
				now := h.expectServing(g, key)
				g.Expect(now.Status.TokenID).NotTo(Equal(old))
			}, 3*drift+10*time.Second, 50*time.Millisecond).Should(Succeed())
			delays = append(delays, time.Since(revoked))
			// Spread the revocations over the sweep cycle.
			time.Sleep(drift / 3)
		}
		Eventually(func(g Gomega) {
			live := h.mine()
			for _, t := range toks {
				h.expectExactlyOne(g, h.expectServing(g, client.ObjectKeyFromObject(t)), live)
			}
		}, 30*time.Second).Should(Succeed())
		Expect(h.orphans()).To(BeEmpty())
		minted, _, _ := h.obs.snapshot()
		all := h.requestsSince(quiet)
		allSweeps, allLists, allMax := sweepsOf(all)
		Expect(allMax).To(BeNumerically("<=", pagesPerSweep))
		summary.printf("6 drift", "%d tokens (2 issuers x %d on one account credential, + its parent): ceil(%d/50) = %d pages per sweep; quiet %s: %d sweeps, %d list calls, at most %d per sweep; over the whole spec part: %d sweeps, %d list calls, at most %d per sweep",
			total, perIssuer, total, pagesPerSweep, 4*drift, sweeps, lists, maxPages, allSweeps, allLists, allMax)
		within := 0
		for _, d := range delays {
			if d <= drift {
				within++
			}
		}
		summary.printf("6 drift", "5 tokens revoked out of band: each replaced (new token live in the Secret) after %s; %d of 5 within one drift interval (%s); mints by reason %v",
			stats(delays), within, drift, minted)
		summary.printf("6 drift", "requests from the quiet period on: %s", routeCounts(all))
	})
})

// sweepsOf counts the sweeps in a run of requests (each starts with page 1 of the token list), the list
// calls, and the most list calls in one sweep. Sweeps of one credential never overlap (the inventory holds a
// lock while it lists).
func sweepsOf(reqs []request) (sweeps, lists, maxPages int) {
	pages := 0
	for _, r := range reqs {
		if r.method != "GET" || !strings.HasSuffix(r.path, "/tokens") {
			continue
		}
		lists++
		if r.page == "1" || r.page == "" {
			sweeps++
			pages = 0
		}
		pages++
		maxPages = max(maxPages, pages)
	}
	return sweeps, lists, maxPages
}
