package controller_test

import (
	"context"
	"fmt"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller"
)

var _ = Describe("the manager's Secret cache", func() {
	It("holds only the operator's own Secrets, with 2,000 unrelated Secrets in the cluster", func() {
		ns := newNamespace()
		const unrelated = 2000
		work := make(chan int)
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				defer GinkgoRecover()
				for i := range work {
					Expect(k8sClient.Create(suiteCtx, &corev1.Secret{
						ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%d", i), Namespace: ns},
						StringData: map[string]string{"password": "not the operator's"},
					})).To(Succeed())
				}
			})
		}
		for i := range unrelated {
			work <- i
		}
		close(work)
		wg.Wait()

		// A cache configured exactly as the manager's (controller.CacheOptions).
		opts := controller.CacheOptions()
		opts.Scheme = scheme
		c, err := cache.New(cfg, opts)
		Expect(err).NotTo(HaveOccurred())
		ctx, stop := context.WithCancel(suiteCtx)
		defer stop()
		go func() { _ = c.Start(ctx) }()
		Expect(c.WaitForCacheSync(ctx)).To(BeTrue())

		// The manager watches Secrets' metadata only (their data never reaches its memory).
		cached := &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "SecretList"}}
		Expect(c.List(ctx, cached)).To(Succeed())
		all := &corev1.SecretList{}
		Expect(k8sClient.List(suiteCtx, all)).To(Succeed())
		ours := 0
		for _, s := range all.Items {
			if s.Labels[cfv1.LabelManagedBy] == cfv1.ManagedByValue {
				ours++
			}
		}
		GinkgoWriter.Printf("Secrets in the cluster: %d; operator's: %d; in the cache: %d\n", len(all.Items), ours, len(cached.Items))
		Expect(len(all.Items)).To(BeNumerically(">=", unrelated))
		Expect(cached.Items).To(HaveLen(ours))
		for _, s := range cached.Items {
			Expect(s.Labels).To(HaveKeyWithValue(cfv1.LabelManagedBy, cfv1.ManagedByValue))
		}
	})
})
