package faults_test

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/tokenname"
	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

var nsCounter atomic.Int32

func newNamespace(prefix string) string {
	name := fmt.Sprintf("%s-%d", prefix, nsCounter.Add(1))
	Expect(k8sClient.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	return name
}

// issuer creates a ClusterTokenIssuer on the parent credential value (User- or Account-owned) and a
// cleanup that removes it and every CloudflareToken left in the cluster, finalizers and all, once the
// harness's managers are gone.
func (h *harness) issuer(name string, owner cfv1.TokenOwner, accountID, parent string) {
	secret := name + "-parent"
	Expect(k8sClient.Create(suiteCtx, testutil.ParentSecret(operatorNamespace, secret, parent))).To(Succeed())
	iss := testutil.OpenClusterIssuer(name, secret, accountID, owner)
	Expect(k8sClient.Create(suiteCtx, iss)).To(Succeed())
	DeferCleanup(func() {
		removeAllTokens()
		_ = k8sClient.Delete(suiteCtx, iss)
		_ = k8sClient.Delete(suiteCtx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secret, Namespace: operatorNamespace}})
	})
}

// removeAllTokens deletes every CloudflareToken without the operator (its finalizer removed by hand), so
// that the next spec's managers find none of this spec's resources.
func removeAllTokens() {
	list := &cfv1.CloudflareTokenList{}
	Expect(k8sClient.List(suiteCtx, list)).To(Succeed())
	for i := range list.Items {
		t := &list.Items[i]
		if len(t.Finalizers) > 0 {
			before := t.DeepCopy()
			t.Finalizers = nil
			_ = k8sClient.Patch(suiteCtx, t, client.MergeFrom(before))
		}
		_ = k8sClient.Delete(suiteCtx, t)
	}
	Eventually(func() int {
		l := &cfv1.CloudflareTokenList{}
		Expect(k8sClient.List(suiteCtx, l)).To(Succeed())
		return len(l.Items)
	}, time.Minute, 200*time.Millisecond).Should(BeZero())
}

func waitIssuerReady(name string) {
	Eventually(func() error {
		return testutil.ClusterIssuerReady(suiteCtx, k8sClient, name)
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

// newToken is a CloudflareToken for one zone with Zone Read and DNS Write, its replaced tokens revoked
// right after the Secret holds the new one (grace 0s) unless mutated.
func newToken(ns, name, issuer, zone string, mutate ...func(*cfv1.CloudflareToken)) *cfv1.CloudflareToken {
	tok := &cfv1.CloudflareToken{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: cfv1.CloudflareTokenSpec{
			IssuerRef:           cfv1.IssuerRef{Kind: "ClusterTokenIssuer", Name: issuer},
			Zones:               []string{zone},
			Permissions:         []string{"Zone Read", "DNS Write"},
			RotationGracePeriod: &metav1.Duration{Duration: 0},
		},
	}
	for _, m := range mutate {
		m(tok)
	}
	return tok
}

// createTokens creates n tokens for example.com named t-0..t-<n-1> in ns and returns their keys.
func createTokens(ns string, n int, issuer string, mutate ...func(*cfv1.CloudflareToken)) []client.ObjectKey {
	keys := make([]client.ObjectKey, 0, n)
	for i := range n {
		tok := newToken(ns, fmt.Sprintf("t-%d", i), issuer, "example.com", mutate...)
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		keys = append(keys, client.ObjectKeyFromObject(tok))
	}
	return keys
}

// nsOfTokenName reads the namespace from a token name "cfto:<cluster>:<uid>:<serial> <namespace>/<name>".
func nsOfTokenName(name string) string {
	_, rest, ok := strings.Cut(name, " ")
	if !ok {
		return ""
	}
	ns, _, _ := strings.Cut(rest, "/")
	return ns
}

// mine are the fake's live tokens with this harness's cluster mark, by resource UID.
func (h *harness) mine() map[types.UID][]cloudflaretest.TokenInfo {
	out := map[types.UID][]cloudflaretest.TokenInfo{}
	hash := tokenname.ClusterHash(h.clusterName)
	for _, t := range h.fake.Tokens() {
		if n, ok := tokenname.Parse(t.Name); ok && n.Cluster == hash {
			out[n.UID] = append(out[n.UID], t)
		}
	}
	return out
}

// orphans are live tokens with this cluster's mark that no existing CloudflareToken records (as current or
// retiring token): nothing would ever revoke them but the sweeper.
func (h *harness) orphans() []string {
	list := &cfv1.CloudflareTokenList{}
	Expect(k8sClient.List(suiteCtx, list)).To(Succeed())
	recorded := map[types.UID]map[string]bool{}
	for _, t := range list.Items {
		ids := map[string]bool{t.Status.TokenID: true}
		for _, rt := range t.Status.RetiringTokens {
			ids[rt.ID] = true
		}
		recorded[t.UID] = ids
	}
	var out []string
	for uid, toks := range h.mine() {
		for _, t := range toks {
			if !recorded[uid][t.ID] {
				out = append(out, t.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// expectServing checks that the resource is Ready for its generation, has no mint under way, and that its
// Secret holds the value of the live token status names; it returns the resource.
func (h *harness) expectServing(g Gomega, key client.ObjectKey) *cfv1.CloudflareToken {
	tok := &cfv1.CloudflareToken{}
	g.Expect(k8sClient.Get(suiteCtx, key, tok)).To(Succeed())
	c := meta.FindStatusCondition(tok.Status.Conditions, cfv1.ConditionReady)
	g.Expect(c).NotTo(BeNil(), "%s has no Ready condition", key)
	g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s: %s: %s", key, c.Reason, c.Message)
	g.Expect(c.Reason).To(Equal("TokenReady"), "%s: %s", key, c.Message)
	g.Expect(tok.Status.ObservedGeneration).To(Equal(tok.Generation))
	g.Expect(tok.Status.TokenID).NotTo(BeEmpty())
	n, ok := tokenname.Parse(tok.Status.TokenName)
	g.Expect(ok).To(BeTrue())
	g.Expect(tok.Status.Serial).To(Equal(n.Serial), "%s: a mint is under way", key)
	sec := &corev1.Secret{}
	g.Expect(k8sClient.Get(suiteCtx, key, sec)).To(Succeed())
	g.Expect(sec.Annotations[cfv1.AnnotationTokenID]).To(Equal(tok.Status.TokenID))
	info, live := h.fake.Token(tok.Status.TokenID)
	g.Expect(live).To(BeTrue(), "%s: token %s is gone at Cloudflare", key, tok.Status.TokenID)
	g.Expect(info.Status).To(Equal("active"))
	g.Expect(string(sec.Data["api-token"])).To(Equal(h.fake.TokenValue(tok.Status.TokenID)))
	return tok
}

// expectExactlyOne checks that the resource holds exactly its current token at Cloudflare, plus the
// retiring ones whose grace period has not run out.
func (h *harness) expectExactlyOne(g Gomega, tok *cfv1.CloudflareToken, live map[types.UID][]cloudflaretest.TokenInfo) {
	want := make([]string, 0, 1+len(tok.Status.RetiringTokens))
	want = append(want, tok.Status.TokenID)
	for _, rt := range tok.Status.RetiringTokens {
		want = append(want, rt.ID)
	}
	got := make([]string, 0, len(live[tok.UID]))
	for _, t := range live[tok.UID] {
		got = append(got, t.ID)
	}
	g.Expect(got).To(ConsistOf(want), "%s/%s: live tokens at Cloudflare", tok.Namespace, tok.Name)
}

func gone(key client.ObjectKey) bool {
	return apierrors.IsNotFound(k8sClient.Get(suiteCtx, key, &cfv1.CloudflareToken{}))
}

// warningEvents are the Warning events about a resource, from both event APIs, as "reason: note".
func warningEvents(ns, name string) []string {
	var out []string
	evs := &eventsv1.EventList{}
	if k8sClient.List(suiteCtx, evs, client.InNamespace(ns)) == nil {
		for _, e := range evs.Items {
			if e.Regarding.Name == name && e.Type == corev1.EventTypeWarning {
				out = append(out, e.Reason+": "+e.Note)
			}
		}
	}
	core := &corev1.EventList{}
	if k8sClient.List(suiteCtx, core, client.InNamespace(ns)) == nil {
		for _, e := range core.Items {
			if e.InvolvedObject.Name == name && e.Type == corev1.EventTypeWarning {
				out = append(out, e.Reason+": "+e.Message)
			}
		}
	}
	return out
}

// stats is min/mean/max of durations, for the figures.
func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n/a"
	}
	lo, hi, sum := ds[0], ds[0], time.Duration(0)
	for _, d := range ds {
		lo, hi, sum = min(lo, d), max(hi, d), sum+d
	}
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }
	return fmt.Sprintf("min %s / mean %s / max %s", r(lo), r(sum/time.Duration(len(ds))), r(hi))
}

// cloudflareRateLimitOff lifts the fake's rate limit, for specs about something else.
func cloudflareRateLimitOff() []cloudflaretest.Option {
	return []cloudflaretest.Option{cloudflaretest.WithRateLimit(1_000_000, 5*time.Minute)}
}

func metaOf(k client.ObjectKey) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: k.Namespace, Name: k.Name}
}

// answersOf429 counts the fake's answers of 429, to every caller (the managers and the tests' own clients).
func answersOf429(fake *cloudflaretest.Server) int {
	n := 0
	for k, v := range fake.RequestCounts() {
		if strings.HasSuffix(k, " 429") {
			n += v
		}
	}
	return n
}
