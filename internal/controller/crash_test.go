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
		setIntercept(interceptor.Funcs{SubResourcePatch: func(ctx context.Context, cl client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			if t, ok := obj.(*cfv1.CloudflareToken); ok && t.Namespace == ns && t.Status.TokenID != "" && failures.Add(1) <= 1 {
				return errors.New("killed before the status write")
			}
			return cl.SubResource(sub).Patch(ctx, obj, p, opts...)
		}})
		tok := newToken(ns, "status-lost")
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		Expect(failures.Load()).To(BeNumerically(">=", 1))
		live := liveTokensOf(tok)
		Expect(live).To(HaveLen(1))
		Expect(live[0].ID).To(Equal(tok.Status.TokenID))
		sec, err := getSecret(ns, "status-lost")
		Expect(err).NotTo(HaveOccurred())
		Expect(expectSecretHoldsLiveToken(Default, sec, "api-token")).To(Equal(tok.Status.TokenID))
	})

	It("makes no token create or delete call when the manager restarts with fresh tokens", func() {
		ns := newNamespace()
		var toks []*cfv1.CloudflareToken
		for _, name := range []string{"a", "b", "c"} {
			t := newToken(ns, name)
			Expect(k8sClient.Create(suiteCtx, t)).To(Succeed())
			toks = append(toks, t)
		}
		for i := range toks {
			toks[i] = waitReady(client.ObjectKeyFromObject(toks[i]))
		}
		// Let retirements and first passes settle, then restart.
		time.Sleep(time.Second)
		creates, deletes := fake.RequestCount("POST", "/user/tokens"), fake.RequestCount("DELETE", "/user/tokens/{token_id}")
		stopSuiteManager()
		restartSuiteManager()
		for _, t := range toks {
			Consistently(func() string {
				cur := &cfv1.CloudflareToken{}
				_ = k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(t), cur)
				return cur.Status.TokenID
			}, 500*time.Millisecond).Should(Equal(t.Status.TokenID))
		}
		time.Sleep(2 * time.Second)
		Expect(fake.RequestCount("POST", "/user/tokens")).To(Equal(creates))
		Expect(fake.RequestCount("DELETE", "/user/tokens/{token_id}")).To(Equal(deletes))
	})
})
