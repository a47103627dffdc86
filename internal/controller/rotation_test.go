package controller_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// rotate sets the rotate annotation to value and waits until the rotation is handled.
func rotate(tok *cfv1.CloudflareToken, value string) *cfv1.CloudflareToken {
	key := client.ObjectKeyFromObject(tok)
	Eventually(func() error {
		cur := &cfv1.CloudflareToken{}
		if err := k8sClient.Get(suiteCtx, key, cur); err != nil {
			return err
		}
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations[cfv1.AnnotationRotate] = value
		return k8sClient.Update(suiteCtx, cur)
	}, 5*time.Second).Should(Succeed())
	out := &cfv1.CloudflareToken{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(suiteCtx, key, out)).To(Succeed())
		g.Expect(out.Status.LastRotateRequest).To(Equal(value))
	}, 20*time.Second, 20*time.Millisecond).Should(Succeed())
	return out
}

var _ = Describe("rotation", func() {
	It("never leaves a dead token in the Secret through 20 forced rotations, and revokes each replaced one after its grace period", func() {
		ns := newNamespace()
		tok := newToken(ns, "rotating", func(t *cfv1.CloudflareToken) {
			t.Spec.RotationGracePeriod = &metav1.Duration{Duration: time.Second}
		})
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))

		// Sample the Secret every 100 ms from the side, as a consumer would read it.
		ctx, stop := context.WithCancel(suiteCtx)
		var mu sync.Mutex
		var samples int
		var bad []string
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer GinkgoRecover()
			defer wg.Done()
			for ctx.Err() == nil {
				sec, err := getSecret(ns, "rotating")
				mu.Lock()
				samples++
				if err != nil {
					bad = append(bad, "secret unreadable: "+err.Error())
				} else if res := InterceptGomegaFailures(func() { expectSecretHoldsLiveToken(Default, sec, "api-token") }); len(res) > 0 {
					bad = append(bad, res[0])
				}
				mu.Unlock()
				time.Sleep(100 * time.Millisecond)
			}
		}()

		seen := map[string]bool{tok.Status.TokenID: true}
		for i := 1; i <= 20; i++ {
			tok = rotate(tok, fmt.Sprintf("r%d", i))
			Expect(seen).NotTo(HaveKey(tok.Status.TokenID), "rotation %d did not mint a new token", i)
			seen[tok.Status.TokenID] = true
			// Spread the rotations over a few grace periods, so that revocations happen while sampling.
			time.Sleep(150 * time.Millisecond)
		}
		revokedWhileSampling := 21 - len(liveTokensOf(tok))
		time.Sleep(300 * time.Millisecond)
		stop()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		GinkgoWriter.Printf("rotation: %d samples, %d bad\n", samples, len(bad))
		Expect(bad).To(BeEmpty())
		Expect(samples).To(BeNumerically(">=", 30))
		Expect(revokedWhileSampling).To(BeNumerically(">=", 10), "too few revocations overlapped the sampling to prove anything")
		Expect(seen).To(HaveLen(21))

		// Every replaced token is revoked once its one-second grace period is over.
		Eventually(func() []string {
			live := make([]string, 0, 2)
			for _, t := range liveTokensOf(tok) {
				live = append(live, t.ID)
			}
			return live
		}, 15*time.Second, 100*time.Millisecond).Should(ConsistOf(tok.Status.TokenID))
	})

	It("consumes a rotate annotation present at creation with the first mint", func() {
		ns := newNamespace()
		tok := newToken(ns, "pre-annotated")
		tok.Annotations = map[string]string{cfv1.AnnotationRotate: "initial"}
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		Expect(tok.Status.LastRotateRequest).To(Equal("initial"))
		Consistently(func() int { return len(liveTokensOf(tok)) }, 2*time.Second, 100*time.Millisecond).Should(Equal(1))
		Expect(tok.Status.Serial).To(Equal(int64(1)))
	})

	It("mints a token of the new scope when the spec changes, and retires the old one", func() {
		ns := newNamespace()
		tok := newToken(ns, "rescoped", func(t *cfv1.CloudflareToken) { t.Spec.RotationGracePeriod = &metav1.Duration{} })
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		first := tok.Status.TokenID

		tok.Spec.Zones = []string{"example.com", "example.org"}
		Expect(k8sClient.Update(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		Expect(tok.Status.TokenID).NotTo(Equal(first))
		info, ok := fake.Token(tok.Status.TokenID)
		Expect(ok).To(BeTrue())
		Expect(info.Policies[0].Resources).To(HaveLen(2))
		Eventually(func() bool { _, ok := fake.Token(first); return ok }, 10*time.Second).Should(BeFalse())
	})

	It("renews a token when its renewal time comes", func() {
		ns := newNamespace()
		tok := newToken(ns, "short", func(t *cfv1.CloudflareToken) {
			t.Spec.TTL = &metav1.Duration{Duration: 9 * time.Second}
			t.Spec.RenewBefore = &metav1.Duration{Duration: 6 * time.Second}
			t.Spec.RotationGracePeriod = &metav1.Duration{Duration: time.Second}
		})
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		DeferCleanup(func() { deleteAndWaitGone(tok) }) // it would keep rotating every few seconds
		tok = waitReady(client.ObjectKeyFromObject(tok))
		first := tok.Status.TokenID
		Eventually(func() string {
			cur := &cfv1.CloudflareToken{}
			_ = k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(tok), cur)
			return cur.Status.TokenID
		}, 10*time.Second, 100*time.Millisecond).ShouldNot(Equal(first))
	})
})
