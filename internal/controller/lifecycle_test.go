package controller_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

var _ = Describe("CloudflareToken lifecycle", func() {
	It("mints exactly the declared scope into a cert-manager-ready Secret", func() {
		ns := newNamespace()
		start := time.Now()
		tok := newToken(ns, "dns01")
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		GinkgoWriter.Printf("apply -> Ready: %s\n", time.Since(start))

		sec, err := getSecret(ns, "dns01")
		Expect(err).NotTo(HaveOccurred())
		id := expectSecretHoldsLiveToken(Default, sec, "api-token")
		Expect(id).To(Equal(tok.Status.TokenID))
		Expect(sec.Data).To(HaveLen(1))
		Expect(sec.Data["api-token"]).NotTo(HaveSuffix("\n"))
		Expect(sec.Labels).To(HaveKeyWithValue(cfv1.LabelManagedBy, cfv1.ManagedByValue))
		Expect(sec.Labels).To(HaveKeyWithValue(cfv1.LabelToken, "dns01"))
		Expect(sec.Annotations).To(HaveKeyWithValue(cfv1.AnnotationExpiresAt, tok.Status.ExpiresAt.UTC().Format(time.RFC3339)))
		Expect(metav1.IsControlledBy(sec, tok)).To(BeTrue())

		info, _ := fake.Token(id)
		zoneID := fake.ZoneID("example.com")
		Expect(info.Policies).To(HaveLen(1))
		Expect(info.Policies[0].Effect).To(Equal("allow"))
		Expect(info.Policies[0].PermissionGroupIDs).To(ConsistOf(
			"c8fed203ed3043cba015a93ad1616f1f", // Zone Read
			"4755a26eedb94da69e1066d98aa820be", // DNS Write
		))
		Expect(info.Policies[0].Resources).To(Equal(map[string]any{cloudflare.ZoneResource(zoneID): "*"}))
		Expect(info.ExpiresOn.Sub(tok.Status.IssuedAt.Time)).To(Equal(168 * time.Hour))
		Expect(info.Name).To(HavePrefix("cfto:"))
		Expect(info.Name).To(HaveSuffix(ns + "/dns01"))

		Expect(tok.Status.Zones).To(ConsistOf(cfv1.ResolvedZone{Name: "example.com", ID: zoneID}))
		Expect(tok.Status.PermissionGroups).To(HaveLen(2))
		Expect(tok.Status.SecretName).To(Equal("dns01"))
		Expect(tok.Status.RenewalTime.Time).To(BeTemporally("<=", tok.Status.ExpiresAt.Add(-56*time.Hour)))
		Expect(tok.Status.RenewalTime.Time).To(BeTemporally(">=", tok.Status.ExpiresAt.Add(-56*time.Hour-6*time.Hour)))
		Expect(liveTokensOf(tok)).To(HaveLen(1))
	})

	It("revokes every token and deletes the Secret when the resource is deleted", func() {
		ns := newNamespace()
		tok := newToken(ns, "gone", func(t *cfv1.CloudflareToken) { t.Spec.RotationGracePeriod = &metav1.Duration{Duration: time.Hour} })
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		// A rotation leaves one token in its grace period: deletion revokes it too.
		rotate(tok, "one")
		Eventually(func() []cloudflaretest.TokenInfo { return liveTokensOf(tok) }, 10*time.Second).Should(HaveLen(2))

		deleteAndWaitGone(tok)
		Expect(liveTokensOf(tok)).To(BeEmpty())
		_, err := getSecret(ns, "gone")
		Expect(apierrors.IsNotFound(err)).To(BeTrue())
	})

	It("keeps the token and the Secret, released, with deletionPolicy Retain", func() {
		ns := newNamespace()
		tok := newToken(ns, "kept", func(t *cfv1.CloudflareToken) { t.Spec.DeletionPolicy = cfv1.DeletionPolicyRetain })
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		tok = waitReady(client.ObjectKeyFromObject(tok))
		deleteAndWaitGone(tok)

		sec, err := getSecret(ns, "kept")
		Expect(err).NotTo(HaveOccurred())
		Expect(sec.OwnerReferences).To(BeEmpty())
		Expect(expectSecretHoldsLiveToken(Default, sec, "api-token")).To(Equal(tok.Status.TokenID))
		// Handed over for good: renamed without the operator's mark, so nothing of the operator's finds it again.
		Expect(liveTokensOf(tok)).To(BeEmpty())
	})

	It("leaves a foreign Secret of the same name alone and mints nothing", func() {
		ns := newNamespace()
		foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: ns},
			StringData: map[string]string{"api-token": "someone else's"}}
		Expect(k8sClient.Create(suiteCtx, foreign)).To(Succeed())
		tok := newToken(ns, "taken")
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		c := waitReason(client.ObjectKeyFromObject(tok), "SecretConflict")
		Expect(c.Message).To(ContainSubstring("Secret " + ns + "/taken exists and was not created by this operator"))
		expectNoMintAttempt(tok, 2*time.Second)

		sec, err := getSecret(ns, "taken")
		Expect(err).NotTo(HaveOccurred())
		Expect(string(sec.Data["api-token"])).To(Equal("someone else's"))
	})

	It("refuses an unknown zone with the closest valid names and mints nothing", func() {
		ns := newNamespace()
		tok := newToken(ns, "typo", func(t *cfv1.CloudflareToken) { t.Spec.Zones = []string{"exampel.com"} })
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		c := waitReason(client.ObjectKeyFromObject(tok), "UnknownZone")
		Expect(c.Message).To(ContainSubstring("spec.zones"))
		Expect(c.Message).To(ContainSubstring("example.com"))
		expectNoMintAttempt(tok, time.Second)
	})
})

var _ = Describe("zones on TLDs whose DNS Cloudflare will not edit through the API", func() {
	It("mints the token and says, in a condition and a Warning event, that DNS-01 will fail there", func() {
		ns := newNamespace()
		tok := newToken(ns, "tk", func(t *cfv1.CloudflareToken) { t.Spec.Zones = []string{"example.tk"} })
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		DeferCleanup(func() { deleteAndWaitGone(tok) })
		tok = waitReady(client.ObjectKeyFromObject(tok))
		c := meta.FindStatusCondition(tok.Status.Conditions, cfv1.ConditionDNSEditable)
		Expect(c).NotTo(BeNil())
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Reason).To(Equal("BlockedTLD"))
		Expect(c.Message).To(ContainSubstring("example.tk"))
		Eventually(func() []string {
			events := &eventsv1.EventList{}
			Expect(k8sClient.List(suiteCtx, events, client.InNamespace(ns))).To(Succeed())
			var reasons []string
			for _, e := range events.Items {
				if e.Regarding.Name == "tk" && e.Type == corev1.EventTypeWarning {
					reasons = append(reasons, e.Reason)
				}
			}
			return reasons
		}, 10*time.Second, 100*time.Millisecond).Should(ContainElement("BlockedTLD"))
	})
})
