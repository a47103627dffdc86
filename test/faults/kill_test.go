package faults_test

import (
	"fmt"
	"os"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/tokenname"
)

// killStep is a point of the lifecycle right after which the manager dies.
type killStep struct {
	phase, name string
	// match says whether a successful call of a resource in namespace ns is this step.
	match func(ns string, e event) bool
}

func isToken(e event, ns string) (*cfv1.CloudflareToken, bool) {
	t, ok := e.obj.(*cfv1.CloudflareToken)
	return t, ok && t.Namespace == ns
}

func isSecret(e event, ns string) bool {
	s, ok := e.obj.(*corev1.Secret)
	return ok && s.Namespace == ns
}

// unrecorded: a mint begun (serial recorded) whose token status does not record yet.
func unrecorded(t *cfv1.CloudflareToken) bool {
	n, _ := tokenname.Parse(t.Status.TokenName)
	return t.Status.Serial > n.Serial
}

func cloudflareCall(method, suffix string) func(ns string, e event) bool {
	return func(ns string, e event) bool {
		return e.method == method && len(e.path) >= len(suffix) && containsSegment(e.path, suffix) && nsOfTokenName(e.tokenName) == ns
	}
}

func containsSegment(path, seg string) bool {
	for i := 0; i+len(seg) <= len(path); i++ {
		if path[i:i+len(seg)] == seg {
			return true
		}
	}
	return false
}

var mintSteps = []killStep{
	{"mint", "after the finalizer is added", func(ns string, e event) bool {
		t, ok := isToken(e, ns)
		return ok && e.verb == "patch" && t.DeletionTimestamp.IsZero() && controllerutil.ContainsFinalizer(t, cfv1.FinalizerRevokeTokens)
	}},
	{"mint", "after the intent (serial) is recorded", func(ns string, e event) bool {
		t, ok := isToken(e, ns)
		return ok && e.verb == "status" && unrecorded(t)
	}},
	{"mint", "after Cloudflare created the token", cloudflareCall("POST", "/tokens")},
	{"mint", "after the Secret is written", func(ns string, e event) bool {
		return isSecret(e, ns) && (e.verb == "create" || e.verb == "update" || e.verb == "patch")
	}},
	{"mint", "after the status is written", func(ns string, e event) bool {
		t, ok := isToken(e, ns)
		return ok && e.verb == "status" && t.Status.TokenID != "" && !unrecorded(t)
	}},
}

var rotationSteps = []killStep{
	{"rotation", "after the intent (serial) is recorded", func(ns string, e event) bool {
		t, ok := isToken(e, ns)
		return ok && e.verb == "status" && unrecorded(t) && t.Status.TokenID != ""
	}},
	{"rotation", "after Cloudflare created the new token", cloudflareCall("POST", "/tokens")},
	{"rotation", "after the Secret holds the new token", func(ns string, e event) bool {
		return isSecret(e, ns) && (e.verb == "update" || e.verb == "patch")
	}},
	{"rotation", "after the old token is revoked, before the status write", cloudflareCall("DELETE", "/tokens/")},
	{"rotation", "after the status is written", func(ns string, e event) bool {
		t, ok := isToken(e, ns)
		return ok && e.verb == "status" && !unrecorded(t) && t.Status.LastRotateRequest != "" &&
			t.Status.LastRotateRequest == t.Annotations[cfv1.AnnotationRotate]
	}},
}

var deletionSteps = []killStep{
	{"deletion", "after revocation, before the finalizer is removed", cloudflareCall("DELETE", "/tokens/")},
	{"deletion", "after the Secret is deleted, before the finalizer is removed", func(ns string, e event) bool {
		return isSecret(e, ns) && e.verb == "delete"
	}},
	{"deletion", "after the finalizer is removed", func(ns string, e event) bool {
		t, ok := isToken(e, ns)
		return ok && e.verb == "patch" && !t.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(t, cfv1.FinalizerRevokeTokens)
	}},
}

// killsPerStep is 20 (issue 6); FAULTS_KILLS overrides it for quick local runs.
func killsPerStep() int {
	if n, err := strconv.Atoi(os.Getenv("FAULTS_KILLS")); err == nil && n > 0 {
		return n
	}
	return 20
}

var _ = Describe("manager killed at each step of mint, rotation and deletion", Ordered, func() {
	const perRound = 2 // resources caught at the step in each kill

	It("leaves 0 orphans and exactly one live token per resource after each restart", func() {
		kills := killsPerStep()
		h := newHarness("faults-kill", 50_000, cloudflareRateLimitOff()...)
		m := h.start("kill-0")
		h.issuer("kill", cfv1.TokenOwnerUser, h.fake.AccountID(), h.fake.UserParentToken())
		waitIssuerReady("kill")
		// The user quota is 50 tokens: a round's resources are deleted again once the figures are taken,
		// except those the rotation and deletion rounds need.
		restart := 0
		killAt := func(st killStep, ns string, trigger func()) (caught []string, converge func(check func(Gomega)) time.Duration) {
			trap := h.arm(perRound, func(e event) bool { return st.match(ns, e) })
			t0 := time.Now()
			trigger()
			Eventually(trap.fired, 30*time.Second, 10*time.Millisecond).Should(BeClosed(),
				"%s %s: the trap did not catch %d calls in %s", st.phase, st.name, perRound, ns)
			t1 := time.Now()
			trap.victim.killAndWait()
			t2 := time.Now()
			restart++
			killedAt := time.Now()
			m = h.start(fmt.Sprintf("kill-%d", restart))
			GinkgoWriter.Printf("%s %s in %s: caught after %s, killed in %s\n", st.phase, st.name, ns, t1.Sub(t0), t2.Sub(t1))
			return trap.hits, func(check func(Gomega)) time.Duration {
				Eventually(check, 60*time.Second, 50*time.Millisecond).Should(Succeed())
				return time.Since(killedAt)
			}
		}
		expectNoOrphans := func(phase string) {
			Eventually(h.orphans, 10*time.Second, 100*time.Millisecond).Should(BeEmpty(), "%s: orphaned tokens", phase)
		}
		report := func(st killStep, durations []time.Duration, caught int) {
			summary.printf("1 kill", "%-8s %-58s kills %d, resources caught at the step %d, kill→converged %s",
				st.phase, st.name, len(durations), caught, stats(durations))
		}

		// Mint: each kill catches the first pass of two fresh resources. Rotation and deletion rounds use
		// the resources minted here, so that the user quota (50 with the parent) is never reached.
		var ready [][]client.ObjectKey
		for _, st := range mintSteps {
			durations := make([]time.Duration, 0, kills)
			caught := 0
			for range kills {
				ns := newNamespace("kill-mint")
				var keys []client.ObjectKey
				hits, converge := killAt(st, ns, func() { keys = createTokens(ns, perRound, "kill") })
				caught += len(hits)
				durations = append(durations, converge(func(g Gomega) {
					live := h.mine()
					for _, k := range keys {
						h.expectExactlyOne(g, h.expectServing(g, k), live)
					}
				}))
				// Keep one namespace per round for the rotations; delete the rest at once.
				if len(ready) < kills {
					ready = append(ready, keys)
				} else {
					for _, k := range keys {
						Expect(k8sClient.Delete(suiteCtx, &cfv1.CloudflareToken{ObjectMeta: metaOf(k)})).To(Succeed())
					}
					Eventually(func() bool { return gone(keys[0]) && gone(keys[1]) }, 30*time.Second, 50*time.Millisecond).Should(BeTrue())
				}
			}
			report(st, durations, caught)
			expectNoOrphans("mint " + st.name)
		}

		// Rotation: the rotate annotation asks for a new token; grace 0s, so the pass also revokes the old one.
		for si, st := range rotationSteps {
			durations := make([]time.Duration, 0, kills)
			caught := 0
			for round := range kills {
				keys := ready[round%len(ready)]
				value := fmt.Sprintf("r%d-%d", si, round)
				before := map[client.ObjectKey]string{}
				hits, converge := killAt(st, keys[0].Namespace, func() {
					for _, k := range keys {
						tok := &cfv1.CloudflareToken{}
						Expect(k8sClient.Get(suiteCtx, k, tok)).To(Succeed())
						before[k] = tok.Status.TokenID
						p := client.MergeFrom(tok.DeepCopy())
						if tok.Annotations == nil {
							tok.Annotations = map[string]string{}
						}
						tok.Annotations[cfv1.AnnotationRotate] = value
						Expect(k8sClient.Patch(suiteCtx, tok, p)).To(Succeed())
					}
				})
				caught += len(hits)
				durations = append(durations, converge(func(g Gomega) {
					live := h.mine()
					for _, k := range keys {
						tok := h.expectServing(g, k)
						g.Expect(tok.Status.LastRotateRequest).To(Equal(value))
						g.Expect(tok.Status.TokenID).NotTo(Equal(before[k]))
						h.expectExactlyOne(g, tok, live)
					}
				}))
			}
			report(st, durations, caught)
			expectNoOrphans("rotation " + st.name)
		}

		// Deletion: each round deletes one namespace's resources; the kill comes after a revocation, after
		// the Secret's deletion or after the finalizer's removal.
		deleted := make([]client.ObjectKey, 0, perRound*kills*len(deletionSteps))
		for _, st := range deletionSteps {
			durations := make([]time.Duration, 0, kills)
			caught := 0
			for range kills {
				var keys []client.ObjectKey
				if len(ready) > 0 {
					keys, ready = ready[0], ready[1:]
				} else {
					ns := newNamespace("kill-del")
					keys = createTokens(ns, perRound, "kill")
					Eventually(func(g Gomega) {
						for _, k := range keys {
							h.expectServing(g, k)
						}
					}, 30*time.Second, 50*time.Millisecond).Should(Succeed())
				}
				uids := map[string]bool{}
				hits, converge := killAt(st, keys[0].Namespace, func() {
					for _, k := range keys {
						tok := &cfv1.CloudflareToken{}
						Expect(k8sClient.Get(suiteCtx, k, tok)).To(Succeed())
						uids[string(tok.UID)] = true
						Expect(k8sClient.Delete(suiteCtx, tok)).To(Succeed())
					}
				})
				caught += len(hits)
				durations = append(durations, converge(func(g Gomega) {
					for _, k := range keys {
						g.Expect(gone(k)).To(BeTrue(), "%s still exists", k)
						sec := &corev1.Secret{}
						g.Expect(k8sClient.Get(suiteCtx, k, sec)).NotTo(Succeed(), "Secret %s still exists", k)
					}
					for uid, toks := range h.mine() {
						g.Expect(uids[string(uid)] && len(toks) > 0).To(BeFalse(), "a deleted resource still has %d live tokens", len(toks))
					}
				}))
				deleted = append(deleted, keys...)
			}
			report(st, durations, caught)
			expectNoOrphans("deletion " + st.name)
		}

		expectNoOrphans("end")
		minted, revoked, failed := h.obs.snapshot()
		all := h.requestsSince(time.Time{})
		summary.printf("1 kill", "%d kills over %d steps (%d per step), %d resources deleted; orphans at the end: %d; mints by reason %v; revocations by why %v; failed passes by reason %v",
			restart, len(mintSteps)+len(rotationSteps)+len(deletionSteps), kills, len(deleted), len(h.orphans()), minted, revoked, failed)
		summary.printf("1 kill", "Cloudflare requests: %d (%s); 429 answers: %d", len(all), routeCounts(all), countStatus(all, 429))
		_ = m
	})
})
