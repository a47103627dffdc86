package controller_test

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// Serial: these tests stop and start the manager and inject faults into its writes.
var _ = Describe("crash safety", Serial, func() {
	AfterEach(func() { setIntercept(interceptor.Funcs{}) })

	It("revokes a token whose create answer was lost, and mints exactly one live token", func() {
		ns := newNamespace()
		fake.LoseCreateAnswers(1)
		tok := newToken(ns, "lost-answer")
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		Eventually(func() int { return len(liveTokensOf(tok)) }, 5*time.Second).Should(Equal(1))
		Expect(liveTokensOf(tok)[0].ID).To(Equal(tok.Status.TokenID))
	})

	It("adopts the token the Secret holds when the status write after minting fails", func() {
		ns := newNamespace()
		var failures atomic.Int32
		var lost atomic.Value // the id of the token whose status write was lost
		setIntercept(interceptor.Funcs{SubResourcePatch: func(ctx context.Context, cl client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			if t, ok := obj.(*cfv1.CloudflareToken); ok && t.Namespace == ns && t.Status.TokenID != "" && failures.Add(1) <= 1 {
				lost.Store(t.Status.TokenID)
				return errors.New("killed before the status write")
			}
			return cl.SubResource(sub).Patch(ctx, obj, p, opts...)
		}})
		tok := newToken(ns, "status-lost")
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		Expect(failures.Load()).To(BeNumerically(">=", 1))
		// Adopted, not revoked and minted again: the token status records is the one whose record was lost.
		Expect(tok.Status.TokenID).To(Equal(lost.Load()))
		live := liveTokensOf(tok)
		Expect(live).To(HaveLen(1))
		Expect(live[0].ID).To(Equal(tok.Status.TokenID))
		sec, err := getSecret(ns, "status-lost")
		Expect(err).NotTo(HaveOccurred())
		Expect(expectSecretHoldsLiveToken(Default, sec, "api-token")).To(Equal(tok.Status.TokenID))
	})

	It("makes no token create or delete call when the manager restarts with fresh tokens", func() {
		ns := newNamespace()
		toks := make([]*cfv1.CloudflareToken, 0, 3)
		for _, name := range []string{"a", "b", "c"} {
			t := newToken(ns, name)
			Expect(k8sClient.Create(suiteCtx, t)).To(Succeed())
			toks = append(toks, t)
		}
		for i := range toks {
			toks[i] = waitReady(client.ObjectKeyFromObject(toks[i]))
		}
		stopSuiteManager()
		restartSuiteManager()
		// Each token's serial is recorded before any create and its live tokens change on any delete: both
		// stay as they were, whatever other specs' tokens do meanwhile.
		Consistently(func(g Gomega) {
			for _, t := range toks {
				cur := &cfv1.CloudflareToken{}
				g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(t), cur)).To(Succeed())
				g.Expect(cur.Status.Serial).To(Equal(t.Status.Serial))
				g.Expect(cur.Status.TokenID).To(Equal(t.Status.TokenID))
				live := liveTokensOf(cur)
				g.Expect(live).To(HaveLen(1))
				g.Expect(live[0].ID).To(Equal(t.Status.TokenID))
			}
		}, 3*time.Second, 100*time.Millisecond).Should(Succeed())
	})
})
