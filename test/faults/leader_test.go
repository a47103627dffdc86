package faults_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// secretSampler reads each Secret every 100 ms, straight from the API server, and asks the fake whether
// the token it holds is live: a sample that is not is a gap consumers would have seen.
type secretSampler struct {
	h       *harness
	keys    []client.ObjectKey
	samples atomic.Int64
	mu      sync.Mutex
	gaps    []string
	// maxLive is the most live tokens any one resource held at a sample (current + retiring).
	maxLive atomic.Int64
	stop    chan struct{}
	done    chan struct{}
}

func (h *harness) sampleSecrets(keys []client.ObjectKey) *secretSampler {
	s := &secretSampler{h: h, keys: keys, stop: make(chan struct{}), done: make(chan struct{})}
	uids := map[client.ObjectKey]types.UID{}
	for _, k := range keys {
		t := &cfv1.CloudflareToken{}
		Expect(k8sClient.Get(suiteCtx, k, t)).To(Succeed())
		uids[k] = t.UID
	}
	go func() {
		defer GinkgoRecover()
		defer close(s.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			live := h.mine()
			for _, k := range keys {
				s.samples.Add(1)
				if n := int64(len(live[uids[k]])); n > s.maxLive.Load() {
					s.maxLive.Store(n)
				}
				sec := &corev1.Secret{}
				if err := k8sClient.Get(suiteCtx, k, sec); err != nil {
					s.gap(fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), k, err))
					continue
				}
				id := sec.Annotations[cfv1.AnnotationTokenID]
				info, ok := h.fake.Token(id)
				switch {
				case !ok:
					s.gap(fmt.Sprintf("%s %s holds token %s, gone at Cloudflare", time.Now().Format("15:04:05.000"), k, id))
				case info.Status != "active":
					s.gap(fmt.Sprintf("%s %s holds token %s, %s", time.Now().Format("15:04:05.000"), k, id, info.Status))
				case string(sec.Data["api-token"]) != h.fake.TokenValue(id):
					s.gap(fmt.Sprintf("%s %s: value is not token %s's", time.Now().Format("15:04:05.000"), k, id))
				}
			}
		}
	}()
	return s
}

func (s *secretSampler) gap(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gaps = append(s.gaps, msg)
}

func (s *secretSampler) finish() []string {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.gaps...)
}

func leaderOf(ms ...*manager) *manager {
	for _, m := range ms {
		select {
		case <-m.elected():
			if !m.isDead() {
				return m
			}
		default:
		}
	}
	return nil
}

var _ = Describe("leader election", Ordered, func() {
	It("hands a rotation the killed leader began to the other manager, without a duplicate, an orphan or a gap in the Secret", func() {
		const grace = 3 * time.Second
		h := newHarness("faults-leader", 50_000, cloudflareRateLimitOff()...)
		le := managerOptions{leaderElection: true}
		a := h.start("leader-a", le)
		b := h.start("leader-b", le)
		h.issuer("leader", cfv1.TokenOwnerUser, h.fake.AccountID(), h.fake.UserParentToken())
		waitIssuerReady("leader")
		ns := newNamespace("leader")
		keys := createTokens(ns, 3, "leader", func(t *cfv1.CloudflareToken) {
			t.Spec.RotationGracePeriod = &metav1.Duration{Duration: grace}
		})
		for _, k := range keys {
			Eventually(func(g Gomega) { h.expectServing(g, k) }, 30*time.Second).Should(Succeed())
		}
		sampler := h.sampleSecrets(keys)
		// settle waits until the grace period is over and the replaced tokens are revoked: exactly one live
		// token per resource.
		settle := func() {
			Eventually(func(g Gomega) {
				live := h.mine()
				for _, k := range keys {
					tok := h.expectServing(g, k)
					g.Expect(tok.Status.RetiringTokens).To(BeEmpty())
					h.expectExactlyOne(g, tok, live)
				}
			}, grace+30*time.Second, 100*time.Millisecond).Should(Succeed())
		}

		rounds := []killStep{
			{"rotation", "after the Secret holds the new token", func(ns string, e event) bool {
				return isSecret(e, ns) && (e.verb == "update" || e.verb == "patch")
			}},
			{"rotation", "after Cloudflare created the new token", cloudflareCall("POST", "/tokens")},
			{"rotation", "after the intent (serial) is recorded", func(ns string, e event) bool {
				t, ok := isToken(e, ns)
				return ok && e.verb == "status" && unrecorded(t) && t.Status.TokenID != ""
			}},
		}
		for i, st := range rounds {
			leader := leaderOf(a, b)
			Expect(leader).NotTo(BeNil())
			follower := a
			if leader == a {
				follower = b
			}
			value := fmt.Sprintf("leader-%d", i)
			posts := h.fake.RequestCount("POST", "/user/tokens")
			trap := h.arm(len(keys), func(e event) bool { return st.match(ns, e) })
			for _, k := range keys {
				tok := &cfv1.CloudflareToken{}
				Expect(k8sClient.Get(suiteCtx, k, tok)).To(Succeed())
				p := client.MergeFrom(tok.DeepCopy())
				if tok.Annotations == nil {
					tok.Annotations = map[string]string{}
				}
				tok.Annotations[cfv1.AnnotationRotate] = value
				Expect(k8sClient.Patch(suiteCtx, tok, p)).To(Succeed())
			}
			Eventually(trap.fired, 30*time.Second).Should(BeClosed())
			Expect(trap.victim).To(BeIdenticalTo(leader), "the trap caught a manager that does not lead")
			killed := time.Now()
			leader.killAndWait()
			Eventually(follower.elected(), 30*time.Second, 10*time.Millisecond).Should(BeClosed())
			takeover := time.Since(killed)
			Eventually(func(g Gomega) {
				live := h.mine()
				for _, k := range keys {
					tok := h.expectServing(g, k)
					g.Expect(tok.Status.LastRotateRequest).To(Equal(value))
					h.expectExactlyOne(g, tok, live)
				}
			}, 60*time.Second, 50*time.Millisecond).Should(Succeed())
			converged := time.Since(killed)
			summary.printf("7 leader", "round %d: leader %s killed %s (%d rotations caught there); %s led %s later; all rotated and serving %s after the kill; %d token creates in the round",
				i+1, leader.name, st.name, len(trap.hits), follower.name, takeover.Round(10*time.Millisecond), converged.Round(10*time.Millisecond),
				h.fake.RequestCount("POST", "/user/tokens")-posts)
			settle()
			// The killed one comes back, as a restarted pod, and waits as the follower.
			name := fmt.Sprintf("%s-r%d", leader.name, i+1)
			if leader == a {
				a = h.start(name, le)
			} else {
				b = h.start(name, le)
			}
		}
		gaps := sampler.finish()
		Expect(h.orphans()).To(BeEmpty())
		_, revoked, _ := h.obs.snapshot()
		summary.printf("7 leader", "Secrets sampled every 100 ms: %d samples, %d gaps; at most %d live tokens per resource at any sample (current + one in its %s grace); 0 orphans; exactly one live token each at the end; revocations by why %v",
			sampler.samples.Load(), len(gaps), sampler.maxLive.Load(), grace, revoked)
		Expect(gaps).To(BeEmpty())
		Expect(sampler.maxLive.Load()).To(BeNumerically("<=", 2))
	})
})
