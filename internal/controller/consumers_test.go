package controller_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// consumerDeployment is a Deployment as external-dns's would be: envtest runs no controllers, so only its
// pod template matters.
func consumerDeployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "external-dns",
					Image: "registry.k8s.io/external-dns/external-dns:v0.17.0"}}},
			},
		},
	}
}

func restartedAt(dep *appsv1.Deployment) string {
	cur := &appsv1.Deployment{}
	Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(dep), cur)).To(Succeed())
	return cur.Spec.Template.Annotations[cfv1.AnnotationRestartedAt]
}

// createToken creates a token that is revoked with no grace period and deleted when the spec ends: the
// suite shares one user quota.
func createToken(tok *cfv1.CloudflareToken) *cfv1.CloudflareToken {
	tok.Spec.RotationGracePeriod = &metav1.Duration{}
	Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
	DeferCleanup(func() { deleteAndWaitGone(tok) })
	return waitReady(client.ObjectKeyFromObject(tok))
}

var _ = Describe("secret presets and consumers", func() {
	It("writes the token under apiKey for the external-dns preset", func() {
		ns := newNamespace()
		tok := createToken(newToken(ns, "external-dns", func(t *cfv1.CloudflareToken) {
			t.Spec.Secret.Preset = cfv1.SecretPresetExternalDNS
		}))
		sec, err := getSecret(ns, "external-dns")
		Expect(err).NotTo(HaveOccurred())
		Expect(sec.Data).To(HaveLen(1))
		Expect(sec.Data).To(HaveKey("apiKey"))
		Expect(expectSecretHoldsLiveToken(Default, sec, "apiKey")).To(Equal(tok.Status.TokenID))
	})

	It("writes the token id and expiry under the template's extra keys, and the value only under its key", func() {
		ns := newNamespace()
		tok := createToken(newToken(ns, "templated", func(t *cfv1.CloudflareToken) {
			t.Spec.Secret = cfv1.SecretTemplate{Preset: cfv1.SecretPresetExternalDNS, Key: "token",
				ExtraKeys: &cfv1.SecretExtraKeys{TokenIDKey: "token-id", ExpiresAtKey: "expires-at"}}
		}))
		sec, err := getSecret(ns, "templated")
		Expect(err).NotTo(HaveOccurred())
		Expect(expectSecretHoldsLiveToken(Default, sec, "token")).To(Equal(tok.Status.TokenID))
		Expect(sec.Data).To(HaveLen(3))
		Expect(string(sec.Data["token-id"])).To(Equal(tok.Status.TokenID))
		Expect(string(sec.Data["expires-at"])).To(Equal(tok.Status.ExpiresAt.UTC().Format(time.RFC3339)))
		Expect(string(sec.Data["expires-at"])).To(Equal(sec.Annotations[cfv1.AnnotationExpiresAt]))

		value := fake.TokenValue(tok.Status.TokenID)
		Expect(value).NotTo(BeEmpty())
		for k, v := range sec.Data {
			if k != "token" {
				Expect(string(v)).NotTo(ContainSubstring(value), "the value is under key %s too", k)
			}
		}
		for k, v := range sec.Annotations {
			Expect(v).NotTo(ContainSubstring(value), "the value is in annotation %s", k)
		}

		By("a rotation rewrites both extra keys")
		tok = rotate(tok, "template-1")
		Eventually(func(g Gomega) {
			sec, err := getSecret(ns, "templated")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(sec.Data["token-id"])).To(Equal(tok.Status.TokenID))
			g.Expect(string(sec.Data["expires-at"])).To(Equal(tok.Status.ExpiresAt.UTC().Format(time.RFC3339)))
			expectSecretHoldsLiveToken(g, sec, "token")
		}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	})

	It("restarts the named Deployments after a rotation, not after the first mint, and reports a missing one", func() {
		ns := newNamespace()
		dep := consumerDeployment(ns, "external-dns")
		Expect(k8sClient.Create(suiteCtx, dep)).To(Succeed())
		bystander := consumerDeployment(ns, "bystander")
		Expect(k8sClient.Create(suiteCtx, bystander)).To(Succeed())

		tok := createToken(newToken(ns, "restarting", func(t *cfv1.CloudflareToken) {
			t.Spec.Secret.Preset = cfv1.SecretPresetExternalDNS
			t.Spec.Secret.RestartDeployments = []string{"external-dns", "absent"}
		}))
		key := client.ObjectKeyFromObject(tok)

		By("the first mint restarts nothing")
		Consistently(func() string { return restartedAt(dep) }, 2*time.Second, 100*time.Millisecond).Should(BeEmpty())
		Expect(meta.FindStatusCondition(tok.Status.Conditions, cfv1.ConditionConsumersRestarted)).To(BeNil())

		By("a forced rotation restarts the Deployment that exists and reports the one that does not")
		before := time.Now().Add(-time.Second)
		rotate(tok, "restart-1")
		var stamp string
		Eventually(func() string { stamp = restartedAt(dep); return stamp }, 10*time.Second, 50*time.Millisecond).ShouldNot(BeEmpty())
		at, err := time.Parse(time.RFC3339, stamp)
		Expect(err).NotTo(HaveOccurred())
		Expect(at).To(BeTemporally(">=", before.Truncate(time.Second)))
		Expect(restartedAt(bystander)).To(BeEmpty(), "a Deployment the token does not name was restarted")

		tok = waitReady(key) // a missing consumer does not fail the token
		c := meta.FindStatusCondition(tok.Status.Conditions, cfv1.ConditionConsumersRestarted)
		Expect(c).NotTo(BeNil())
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Reason).To(Equal("DeploymentNotFound"))
		Expect(c.Message).To(ContainSubstring("absent"))
		Expect(c.Message).To(ContainSubstring("restarted external-dns"))
		Eventually(func(g Gomega) {
			events := &eventsv1.EventList{}
			g.Expect(k8sClient.List(suiteCtx, events, client.InNamespace(ns))).To(Succeed())
			var warned bool
			for _, e := range events.Items {
				warned = warned || (e.Type == corev1.EventTypeWarning && e.Reason == "DeploymentNotFound" &&
					e.Regarding.Name == tok.Name && strings.Contains(e.Note, "absent"))
			}
			g.Expect(warned).To(BeTrue(), "no Warning event names the missing Deployment")
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())

		By("once the list names only Deployments that exist, the next rotation reports them restarted")
		Eventually(func() error {
			cur := &cfv1.CloudflareToken{}
			if err := k8sClient.Get(suiteCtx, key, cur); err != nil {
				return err
			}
			cur.Spec.Secret.RestartDeployments = []string{"external-dns"}
			return k8sClient.Update(suiteCtx, cur)
		}, 5*time.Second).Should(Succeed())
		tok = rotate(tok, "restart-2")
		Eventually(func(g Gomega) {
			cur := &cfv1.CloudflareToken{}
			g.Expect(k8sClient.Get(suiteCtx, key, cur)).To(Succeed())
			c := meta.FindStatusCondition(cur.Status.Conditions, cfv1.ConditionConsumersRestarted)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
			g.Expect(c.Message).To(ContainSubstring(cur.Status.TokenID))
		}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
		Expect(restartedAt(dep)).NotTo(BeEmpty())
	})
})
