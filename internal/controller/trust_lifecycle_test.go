package controller_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/tokenname"
)

// The trust boundary over time: nothing minted is stranded, whatever happens to the resource or its issuer.
var _ = Describe("trust boundary: nothing minted is stranded", func() {
	anyZone := func(spec cfv1.IssuerSpec) cfv1.IssuerSpec {
		spec.AllowedZones, spec.AllowedPermissions = []string{"*"}, []string{"*"}
		return spec
	}
	grace := func(d time.Duration) func(*cfv1.CloudflareToken) {
		return func(t *cfv1.CloudflareToken) { t.Spec.RotationGracePeriod = &metav1.Duration{Duration: d} }
	}
	expectGoneAtCloudflare := func(id string, within time.Duration) {
		Eventually(func() bool { _, ok := fake.Token(id); return ok }, within, 50*time.Millisecond).Should(BeFalse(),
			"token %s is still valid at Cloudflare", id)
	}

	It("revokes the old token through the credential that minted it when the resource moves to another issuer", func() {
		secret := "tb-account-parent"
		createSecretFor(secret, map[string]string{"api-token": fake.AccountParentToken(fake.AccountID())})
		createClusterIssuer("tb-account-owned", anyZone(cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: secret},
			AccountID: fake.AccountID(), TokenOwner: cfv1.TokenOwnerAccount}))
		waitIssuerReady("tb-account-owned")
		ns := newNamespace()
		tok := newToken(ns, "mover", grace(time.Second))
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		oldID := tok.Status.TokenID
		Expect(tok.Status.MintedBy.Owner).To(Equal(cfv1.TokenOwnerUser))

		tok.Spec.IssuerRef.Name = "tb-account-owned"
		Expect(k8sClient.Update(suiteCtx, tok)).To(Succeed())
		Eventually(func(g Gomega) {
			cur := waitReady(client.ObjectKeyFromObject(tok))
			g.Expect(cur.Status.TokenID).NotTo(Equal(oldID))
			g.Expect(cur.Status.MintedBy.Owner).To(Equal(cfv1.TokenOwnerAccount))
		}, 20*time.Second).Should(Succeed())
		// Through the new (account) credential the user-owned token is a 404: only its own owner can revoke it.
		expectGoneAtCloudflare(oldID, 15*time.Second)
	})

	It("revokes the old token through its own owner when the issuer changes tokenOwner and credential", func() {
		secret := "tb-owner-account-parent"
		createSecretFor(secret, map[string]string{"api-token": fake.AccountParentToken(fake.AccountID())})
		createClusterIssuer("tb-owner-change", cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: "cf-parent"},
			AccountID: fake.AccountID()})
		waitIssuerReady("tb-owner-change")
		ns := newNamespace()
		tok := newToken(ns, "owner-change", grace(time.Second), func(t *cfv1.CloudflareToken) { t.Spec.IssuerRef.Name = "tb-owner-change" })
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		oldID := waitReady(client.ObjectKeyFromObject(tok)).Status.TokenID

		iss := &cfv1.ClusterTokenIssuer{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Name: "tb-owner-change"}, iss)).To(Succeed())
		iss.Spec.TokenOwner, iss.Spec.APITokenSecretRef = cfv1.TokenOwnerAccount, &cfv1.SecretKeyRef{Name: secret}
		Expect(k8sClient.Update(suiteCtx, iss)).To(Succeed())
		Eventually(func(g Gomega) {
			cur := &cfv1.CloudflareToken{}
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(tok), cur)).To(Succeed())
			g.Expect(cur.Status.MintedBy).NotTo(BeNil())
			g.Expect(cur.Status.MintedBy.Owner).To(Equal(cfv1.TokenOwnerAccount))
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
		expectGoneAtCloudflare(oldID, 15*time.Second)
	})

	It("withdraws a token its issuer no longer allows, and revokes it after the grace period", func() {
		createClusterIssuer("tb-tightened", cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: "cf-parent"},
			AllowedZones: []string{"example.com"}, AllowedPermissions: []string{"Zone Read", "DNS Write"}})
		waitIssuerReady("tb-tightened")
		ns := newNamespace()
		tok := newToken(ns, "tightened", grace(2*time.Second), func(t *cfv1.CloudflareToken) {
			t.Spec.IssuerRef.Name = "tb-tightened"
		})
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		id := waitReady(client.ObjectKeyFromObject(tok)).Status.TokenID

		iss := &cfv1.ClusterTokenIssuer{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Name: "tb-tightened"}, iss)).To(Succeed())
		iss.Spec.AllowedPermissions = []string{"Zone Read"}
		Expect(k8sClient.Update(suiteCtx, iss)).To(Succeed())
		c := waitReason(client.ObjectKeyFromObject(tok), "PermissionNotAllowed")
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Message).To(ContainSubstring(`"DNS Write"`))
		expectGoneAtCloudflare(id, 15*time.Second)
		expectEvent(tok, "Withdrawn", id)
	})

	It("keeps an issuer deleted while in use until its last resource is gone, and revokes that resource's token", func() {
		createClusterIssuer("tb-deleted", cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: "cf-parent"},
			AllowedZones: []string{"example.com"}, AllowedPermissions: []string{"Zone Read", "DNS Write"}})
		waitIssuerReady("tb-deleted")
		ns := newNamespace()
		tok := newToken(ns, "orphaned-issuer", func(t *cfv1.CloudflareToken) { t.Spec.IssuerRef.Name = "tb-deleted" })
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		id := waitReady(client.ObjectKeyFromObject(tok)).Status.TokenID

		iss := &cfv1.ClusterTokenIssuer{ObjectMeta: metav1.ObjectMeta{Name: "tb-deleted"}}
		Expect(k8sClient.Delete(suiteCtx, iss)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(iss), iss)).To(Succeed())
			c := meta.FindStatusCondition(iss.Status.Conditions, cfv1.ConditionInUse)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Message).To(ContainSubstring(ns + "/orphaned-issuer"))
		}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
		Expect(iss.Finalizers).To(ContainElement(cfv1.FinalizerIssuerInUse))

		deleteAndWaitGone(tok)
		expectGoneAtCloudflare(id, time.Second)
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(iss), iss))
		}, 20*time.Second, 50*time.Millisecond).Should(BeTrue(), "the issuer outlived its last user")
	})

	It("never revokes a Retain token: not on deletion, not by the sweeper, not after a restart", func() {
		ns := newNamespace()
		tok := newToken(ns, "retained", func(t *cfv1.CloudflareToken) { t.Spec.DeletionPolicy = cfv1.DeletionPolicyRetain })
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		id := waitReady(client.ObjectKeyFromObject(tok)).Status.TokenID
		deleteAndWaitGone(tok)
		info, ok := fake.Token(id)
		Expect(ok).To(BeTrue())
		_, marked := tokenname.Parse(info.Name)
		Expect(marked).To(BeFalse(), "the retained token still carries the operator's mark: %q", info.Name)

		stopSuiteManager()
		restartSuiteManager()
		// Several orphan grace periods and drift sweeps of the restarted manager, which remembers nothing.
		Consistently(func(g Gomega) {
			info, ok := fake.Token(id)
			g.Expect(ok).To(BeTrue(), "the retained token was revoked")
			g.Expect(info.Status).To(Equal("active"))
		}, 4*driftInterval+orphanGrace, 200*time.Millisecond).Should(Succeed())
	})

	It("keeps at most two replaced tokens valid through six rotate requests with a one-hour grace", func() {
		ns := newNamespace()
		tok := newToken(ns, "rotate-storm", grace(time.Hour))
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		minted := make([]string, 1, 7)
		minted[0] = tok.Status.TokenID
		for i := range 6 {
			cur := rotate(tok, fmt.Sprintf("storm-%d", i))
			Expect(cur.Status.TokenID).NotTo(Equal(minted[len(minted)-1]), "rotate request %d was not honoured", i)
			minted = append(minted, cur.Status.TokenID)
			Expect(len(liveTokensOf(cur))).To(BeNumerically("<=", 3))
			Expect(len(cur.Status.RetiringTokens)).To(BeNumerically("<=", 2))
		}
		cur := waitReady(client.ObjectKeyFromObject(tok))
		Expect(liveTokensOf(cur)).To(HaveLen(3))
		for _, id := range minted[:len(minted)-3] {
			_, ok := fake.Token(id)
			Expect(ok).To(BeFalse(), "token %s of an early rotation is still valid", id)
		}
	})

	It("bounds the tokens of one namespace with maxTokensPerNamespace", func() {
		createClusterIssuer("tb-two-per-ns", cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: "cf-parent"},
			AllowedZones: []string{"example.com"}, AllowedPermissions: []string{"Zone Read", "DNS Write"},
			MaxTokensPerNamespace: ptr.To[int32](2)})
		waitIssuerReady("tb-two-per-ns")
		ns := newNamespace()
		toks := make([]*cfv1.CloudflareToken, 0, 3)
		for i := range 3 {
			t := newToken(ns, fmt.Sprintf("quota-%d", i), func(t *cfv1.CloudflareToken) { t.Spec.IssuerRef.Name = "tb-two-per-ns" })
			Expect(k8sClient.Create(suiteCtx, t)).To(Succeed())
			toks = append(toks, t)
		}
		Eventually(func(g Gomega) {
			ready, limited, live := 0, 0, 0
			for _, t := range toks {
				cur := &cfv1.CloudflareToken{}
				g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(t), cur)).To(Succeed())
				c := meta.FindStatusCondition(cur.Status.Conditions, cfv1.ConditionReady)
				g.Expect(c).NotTo(BeNil())
				switch {
				case c.Status == metav1.ConditionTrue:
					ready++
				case c.Reason == "NamespaceTokenLimit":
					limited++
					g.Expect(c.Message).To(ContainSubstring("spec.maxTokensPerNamespace is 2"))
				}
				live += len(liveTokensOf(cur))
			}
			g.Expect([]int{ready, limited, live}).To(Equal([]int{2, 1, 2}))
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
	})

	It("never revokes another resource's token that a status edited by hand lists as retiring", func() {
		ns := newNamespace()
		victim := newToken(ns, "victim")
		Expect(k8sClient.Create(suiteCtx, victim)).To(Succeed())
		victimID := waitReady(client.ObjectKeyFromObject(victim)).Status.TokenID
		tok := newToken(ns, "tamperer")
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		// Someone with rights on the status subresource (tenants have none by default) points a retiring
		// entry at the victim's token.
		Eventually(func() error {
			cur := &cfv1.CloudflareToken{}
			if err := k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(tok), cur); err != nil {
				return err
			}
			cur.Status.RetiringTokens = append(cur.Status.RetiringTokens, cfv1.RetiringToken{ID: victimID,
				RevokeAt: metav1.NewTime(time.Now().Add(-time.Minute)), MintedBy: cur.Status.MintedBy})
			return k8sClient.Status().Update(suiteCtx, cur)
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
		expectEvent(tok, "NotRevoked", victimID)
		info, ok := fake.Token(victimID)
		Expect(ok).To(BeTrue(), "the victim's token was revoked")
		Expect(info.Status).To(Equal("active"))
	})

	It("never writes or adopts a Secret that carries the operator's labels but that no CloudflareToken controls", func() {
		ns := newNamespace()
		planted := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "planted", Namespace: ns, Labels: map[string]string{
			cfv1.LabelManagedBy: cfv1.ManagedByValue, cfv1.LabelToken: "planted"}},
			StringData: map[string]string{"api-token": "tenant's own value"}}
		Expect(k8sClient.Create(suiteCtx, planted)).To(Succeed())
		tok := newToken(ns, "planted")
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		waitReason(client.ObjectKeyFromObject(tok), "SecretConflict")
		expectNoMintAttempt(tok, 300*time.Millisecond)
		sec, err := getSecret(ns, "planted")
		Expect(err).NotTo(HaveOccurred())
		Expect(string(sec.Data["api-token"])).To(Equal("tenant's own value"))
		Expect(sec.OwnerReferences).To(BeEmpty())
	})
})

// expectEvent waits for an event of the given reason on tok whose note mentions want.
func expectEvent(tok *cfv1.CloudflareToken, reason, want string) {
	Eventually(func(g Gomega) {
		list := &eventsv1.EventList{}
		g.Expect(k8sClient.List(suiteCtx, list, client.InNamespace(tok.Namespace))).To(Succeed())
		found := false
		for _, e := range list.Items {
			found = found || (e.Regarding.Name == tok.Name && e.Reason == reason && strings.Contains(e.Note, want))
		}
		g.Expect(found).To(BeTrue(), "no %s event mentioning %s", reason, want)
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
}
