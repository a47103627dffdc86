package controller_test

import (
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

// The operator against the answers cloudflare-api.md's second audit says the real Cloudflare may give.
var _ = Describe("the real Cloudflare's answers", func() {
	for _, shape := range []cloudflaretest.NotFoundShape{cloudflaretest.NotFoundInvalidToken, cloudflaretest.NotFoundRoute} {
		It("completes a deletion whose token is already gone, answered 404 in either shape", func() {
			fake.SetTokenNotFound(shape)
			DeferCleanup(func() { fake.SetTokenNotFound(cloudflaretest.NotFoundInvalidToken) })
			ns := newNamespace()
			tok := newToken(ns, "gone-before-delete")
			Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
			tok = waitReady(client.ObjectKeyFromObject(tok))
			fake.RevokeOutOfBand(tok.Status.TokenID)
			deleteAndWaitGone(tok)
		})
	}

	It("replaces a token Cloudflare deactivated as exposed, and deletes it, within the drift interval", func() {
		ns := newNamespace()
		tok := newToken(ns, "exposed") // default grace period: 5 minutes
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		old := tok.Status.TokenID
		fake.ExposeOutOfBand(old)
		exposedAt := time.Now()
		Eventually(func(g Gomega) {
			cur := &cfv1.CloudflareToken{}
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(tok), cur)).To(Succeed())
			g.Expect(cur.Status.TokenID).NotTo(Equal(old))
			_, exists := fake.Token(old)
			g.Expect(exists).To(BeFalse(), "the exposed token still exists at Cloudflare")
			g.Expect(cur.Status.RetiringTokens).To(BeEmpty())
			c := meta.FindStatusCondition(cur.Status.Conditions, cfv1.ConditionTokenDeactivated)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal("Exposed"))
			g.Expect(c.Message).To(ContainSubstring("deactivated by Cloudflare (exposed)"))
			sec, err := getSecret(ns, "exposed")
			g.Expect(err).NotTo(HaveOccurred())
			expectSecretHoldsLiveToken(g, sec, "api-token")
		}, driftInterval+3*time.Second, 100*time.Millisecond).Should(Succeed())
		GinkgoWriter.Printf("exposed token replaced and deleted after %s (drift interval %s)\n", time.Since(exposedAt), driftInterval)
		expectEvent(tok, "TokenDeactivated", "deactivated by Cloudflare (exposed)")
	})

	It("reports a dead parent that Cloudflare answers with 403/10000 as a credential problem", func() {
		fake.SetDeadCredential(cloudflaretest.DeadCredential403)
		DeferCleanup(func() { fake.SetDeadCredential(cloudflaretest.DeadCredential401) })
		parentID, value := fake.Seed(cloudflaretest.SeedToken{Name: "parent that dies", Policies: []cloudflaretest.Policy{
			{Effect: "allow", PermissionGroupIDs: []string{cloudflaretest.PermAPITokensWrite},
				Resources: map[string]any{"com.cloudflare.api.user." + fake.UserTag(): "*"}},
			{Effect: "allow", PermissionGroupIDs: []string{cloudflaretest.PermZoneRead},
				Resources: map[string]any{cloudflare.AccountResource(fake.AccountID()): map[string]any{"com.cloudflare.api.account.zone.*": "*"}}},
		}})
		createParentSecret("dying-parent", value)
		iss := &cfv1.ClusterTokenIssuer{
			ObjectMeta: metav1.ObjectMeta{Name: "dying"},
			Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
				APITokenSecretRef: &cfv1.SecretKeyRef{Name: "dying-parent"}, AccountID: fake.AccountID(),
				AllowedZones: []string{"*"}, AllowedPermissions: []string{"*"},
			}},
		}
		Expect(k8sClient.Create(suiteCtx, iss)).To(Succeed())
		waitIssuerReady("dying")
		fake.RevokeOutOfBand(parentID) // after the issuer was verified: only the token's calls find out
		ns := newNamespace()
		tok := newToken(ns, "dead-parent", func(t *cfv1.CloudflareToken) { t.Spec.IssuerRef.Name = "dying" })
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		c := waitReason(client.ObjectKeyFromObject(tok), string(cloudflare.ClassAuthentication))
		Expect(c.Message).To(ContainSubstring("code 10000"))
		Expect(c.Message).To(ContainSubstring("verifying the parent credential failed too"))
		Expect(c.Message).To(ContainSubstring("unknown, revoked or expired"))
	})
})

var _ = Describe("token usage", func() {
	const grace = 12 * time.Second // the operator tolerates uses up to half of it after the switch

	rotate := func(tok *cfv1.CloudflareToken) *cfv1.CloudflareToken {
		cur := &cfv1.CloudflareToken{}
		Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(tok), cur)).To(Succeed())
		before := cur.DeepCopy()
		cur.Annotations = map[string]string{cfv1.AnnotationRotate: "usage"}
		Expect(k8sClient.Patch(suiteCtx, cur, client.MergeFrom(before))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(tok), cur)).To(Succeed())
			g.Expect(cur.Status.TokenID).NotTo(Equal(tok.Status.TokenID))
			g.Expect(cur.Status.RetiringTokens).To(HaveLen(1))
			g.Expect(cur.Status.RetiringTokens[0].ReplacedAt).NotTo(BeNil())
		}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
		return cur
	}
	newGraceToken := func(name string) *cfv1.CloudflareToken {
		ns := newNamespace()
		tok := newToken(ns, name, func(t *cfv1.CloudflareToken) { t.Spec.RotationGracePeriod = &metav1.Duration{Duration: grace} })
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		return waitReady(client.ObjectKeyFromObject(tok))
	}

	It("warns, naming the Secret, when a consumer uses the old token after the switch", func() {
		tok := newGraceToken("stale-consumer")
		oldValue := fake.TokenValue(tok.Status.TokenID)
		cur := rotate(tok)
		replacedAt := cur.Status.RetiringTokens[0].ReplacedAt.Time
		time.Sleep(time.Until(replacedAt.Add(grace/2 + 1500*time.Millisecond)))
		Expect(useToken(oldValue)).To(Equal(http.StatusOK), "the old token still works during the grace period")
		expectEvent(tok, "ConsumerStillUsesOldToken", "replaced in Secret stale-consumer")

		By("recording lastUsedAt of the current token from the same list")
		Expect(useToken(fake.TokenValue(cur.Status.TokenID))).To(Equal(http.StatusOK))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(tok), cur)).To(Succeed())
			g.Expect(cur.Status.LastUsedAt).NotTo(BeNil())
		}, 3*driftInterval, 100*time.Millisecond).Should(Succeed())
	})

	It("does not warn when the old token was used only before the switch", func() {
		tok := newGraceToken("reloading-consumer")
		Expect(useToken(fake.TokenValue(tok.Status.TokenID))).To(Equal(http.StatusOK))
		rotate(tok)
		Eventually(func(g Gomega) {
			cur := &cfv1.CloudflareToken{}
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(tok), cur)).To(Succeed())
			g.Expect(cur.Status.RetiringTokens).To(BeEmpty())
		}, grace+2*driftInterval, 100*time.Millisecond).Should(Succeed())
		expectNoEvent(tok, "ConsumerStillUsesOldToken")
	})
})

// useToken is a consumer's call with the token.
func useToken(value string) int {
	status, err := fake.UseToken(value)
	Expect(err).NotTo(HaveOccurred())
	return status
}

// expectNoEvent checks that tok has no event of this reason.
func expectNoEvent(tok *cfv1.CloudflareToken, reason string) {
	list := &eventsv1.EventList{}
	Expect(k8sClient.List(suiteCtx, list, client.InNamespace(tok.Namespace))).To(Succeed())
	for _, e := range list.Items {
		Expect(e.Regarding.Name == tok.Name && e.Reason == reason).To(BeFalse(), "unexpected %s event: %s", reason, e.Note)
	}
}
