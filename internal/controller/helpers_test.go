package controller_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/tokenname"
)

var nsCounter atomic.Int32

// newNamespace makes a namespace of its own for one test.
func newNamespace() string {
	name := fmt.Sprintf("team-%d", nsCounter.Add(1))
	Expect(k8sClient.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	return name
}

// newToken is a CloudflareToken for zones [example.com] and permissions [Zone Read, DNS Write].
func newToken(ns, name string, mutate ...func(*cfv1.CloudflareToken)) *cfv1.CloudflareToken {
	tok := &cfv1.CloudflareToken{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: cfv1.CloudflareTokenSpec{
			IssuerRef:   cfv1.IssuerRef{Kind: "ClusterTokenIssuer", Name: issuerName},
			Zones:       []string{"example.com"},
			Permissions: []string{"Zone Read", "DNS Write"},
		},
	}
	for _, m := range mutate {
		m(tok)
	}
	return tok
}

func waitIssuerReady(name string) {
	Eventually(func(g Gomega) {
		iss := &cfv1.ClusterTokenIssuer{}
		g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Name: name}, iss)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(iss.Status.Conditions, cfv1.ConditionReady)).To(BeTrue(), "%+v", iss.Status.Conditions)
	}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
}

// waitReady waits until the token is Ready for its current generation and returns it.
func waitReady(key client.ObjectKey) *cfv1.CloudflareToken {
	tok := &cfv1.CloudflareToken{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(suiteCtx, key, tok)).To(Succeed())
		c := meta.FindStatusCondition(tok.Status.Conditions, cfv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s: %s", c.Reason, c.Message)
		g.Expect(tok.Status.ObservedGeneration).To(Equal(tok.Generation))
		g.Expect(tok.Status.TokenID).NotTo(BeEmpty())
	}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
	return tok
}

// readyCondition returns the token's Ready condition, eventually matching the given reason.
func waitReason(key client.ObjectKey, reason string) *metav1.Condition {
	var c *metav1.Condition
	Eventually(func(g Gomega) {
		tok := &cfv1.CloudflareToken{}
		g.Expect(k8sClient.Get(suiteCtx, key, tok)).To(Succeed())
		c = meta.FindStatusCondition(tok.Status.Conditions, cfv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(reason), c.Message)
	}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
	return c
}

func getSecret(ns, name string) (*corev1.Secret, error) {
	sec := &corev1.Secret{}
	err := k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, sec)
	return sec, err
}

// liveTokensOf are the fake's live tokens whose name marks them as this resource's.
func liveTokensOf(tok *cfv1.CloudflareToken) []cloudflaretest.TokenInfo {
	var out []cloudflaretest.TokenInfo
	for _, t := range fake.Tokens() {
		n, ok := tokenname.Parse(t.Name)
		if ok && n.UID == tok.UID && n.Cluster == tokenname.ClusterHash(clusterName) {
			out = append(out, t)
		}
	}
	return out
}

// expectSecretHoldsLiveToken checks, at Cloudflare (the fake), that the Secret's value is the value of an
// active, unexpired token with the id the annotation names.
func expectSecretHoldsLiveToken(g Gomega, sec *corev1.Secret, key string) string {
	id := sec.Annotations[cfv1.AnnotationTokenID]
	g.Expect(id).NotTo(BeEmpty())
	info, ok := fake.Token(id)
	g.Expect(ok).To(BeTrue(), "token %s is gone at Cloudflare", id)
	g.Expect(info.Status).To(Equal("active"))
	g.Expect(info.ExpiresOn).NotTo(BeNil())
	g.Expect(time.Now().Before(*info.ExpiresOn)).To(BeTrue())
	g.Expect(string(sec.Data[key])).To(Equal(fake.TokenValue(id)))
	return id
}

func deleteAndWaitGone(obj client.Object) {
	Expect(k8sClient.Delete(suiteCtx, obj)).To(Succeed())
	Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(obj), obj))
	}, 20*time.Second, 50*time.Millisecond).Should(BeTrue())
}

func containsAny(haystack string, needles []string) string {
	for _, n := range needles {
		if n != "" && strings.Contains(haystack, n) {
			return n[:8] + "..."
		}
	}
	return ""
}

// expectNoMintAttempt checks that Cloudflare was never asked to create a token for tok: the serial is
// recorded before every create, so zero means no attempt, whatever else the suite is doing meanwhile.
func expectNoMintAttempt(tok *cfv1.CloudflareToken, during time.Duration) {
	Consistently(func(g Gomega) {
		cur := &cfv1.CloudflareToken{}
		g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(tok), cur)).To(Succeed())
		g.Expect(cur.Status.Serial).To(BeZero())
		g.Expect(cur.Status.TokenID).To(BeEmpty())
		g.Expect(liveTokensOf(cur)).To(BeEmpty())
	}, during, 100*time.Millisecond).Should(Succeed())
}
