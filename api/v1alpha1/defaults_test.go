package v1alpha1_test

import (
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

var _ = Describe("schema defaults on the real API server", func() {
	It("fills a minimal CloudflareToken", func() {
		tok := &cfv1.CloudflareToken{
			ObjectMeta: metav1.ObjectMeta{Name: "minimal", Namespace: "default"},
			Spec: cfv1.CloudflareTokenSpec{
				IssuerRef:   cfv1.IssuerRef{Kind: "ClusterTokenIssuer", Name: "cloudflare"},
				Zones:       []string{"example.com"},
				Permissions: []string{"DNS Write"},
			},
		}
		Expect(k8sClient.Create(ctx, tok)).To(Succeed())
		Expect(tok.Spec.TTL).To(Equal(&metav1.Duration{Duration: 168 * time.Hour}))
		Expect(tok.Spec.RotationGracePeriod).To(Equal(&metav1.Duration{Duration: 5 * time.Minute}))
		Expect(tok.Spec.DeletionPolicy).To(Equal(cfv1.DeletionPolicyRevoke))
		Expect(tok.Spec.Secret.Preset).To(Equal(cfv1.SecretPresetCertManager))
		Expect(tok.Spec.Secret.Key).To(BeEmpty(), "the key follows the preset, so the controller computes it")
		Expect(tok.Spec.Secret.TokenKey()).To(Equal("api-token"))
		Expect(tok.Spec.RenewBefore).To(BeNil(), "renewBefore is computed by the controller (ttl/3)")
	})

	It("keys the token by the preset unless spec.secret.key says otherwise", func() {
		for _, c := range []struct {
			secret cfv1.SecretTemplate
			key    string
		}{
			{cfv1.SecretTemplate{Preset: cfv1.SecretPresetExternalDNS}, "apiKey"},
			{cfv1.SecretTemplate{Preset: cfv1.SecretPresetExternalDNS, Key: "token"}, "token"},
			{cfv1.SecretTemplate{Key: "token"}, "token"},
		} {
			tok := &cfv1.CloudflareToken{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "preset-", Namespace: "default"},
				Spec: cfv1.CloudflareTokenSpec{
					IssuerRef:   cfv1.IssuerRef{Kind: "ClusterTokenIssuer", Name: "cloudflare"},
					Permissions: []string{"DNS Write"},
					Secret:      c.secret,
				},
			}
			Expect(k8sClient.Create(ctx, tok)).To(Succeed())
			Expect(tok.Spec.Secret.TokenKey()).To(Equal(c.key), "%+v", c.secret)
			if c.secret.Preset == "" {
				Expect(tok.Spec.Secret.Preset).To(Equal(cfv1.SecretPresetCertManager))
			}
		}
	})

	It("fills a minimal issuer's token owner", func() {
		iss := &cfv1.TokenIssuer{
			ObjectMeta: metav1.ObjectMeta{Name: "minimal", Namespace: "default"},
			Spec:       cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: "cf-parent"}},
		}
		Expect(k8sClient.Create(ctx, iss)).To(Succeed())
		Expect(iss.Spec.TokenOwner).To(Equal(cfv1.TokenOwnerUser))
	})
})

var _ = Describe("printer columns on the real API server", func() {
	columnsOf := func(resource, namespace string) []string {
		c := rest.CopyConfig(cfg)
		c.GroupVersion = &cfv1.GroupVersion
		c.APIPath = "/apis"
		c.NegotiatedSerializer = nil
		rc, err := rest.UnversionedRESTClientFor(withCodecs(c))
		Expect(err).NotTo(HaveOccurred())
		req := rc.Get().Resource(resource).SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
		if namespace != "" {
			req = req.Namespace(namespace)
		}
		raw, err := req.DoRaw(ctx)
		Expect(err).NotTo(HaveOccurred())
		var table metav1.Table
		Expect(json.Unmarshal(raw, &table)).To(Succeed())
		var names []string
		for _, col := range table.ColumnDefinitions {
			if col.Priority == 0 {
				names = append(names, col.Name)
			}
		}
		return names
	}

	It("shows Ready, Secret, Expires and Age for CloudflareTokens", func() {
		Expect(columnsOf("cloudflaretokens", "default")).To(Equal([]string{"Name", "Ready", "Secret", "Expires", "Age"}))
	})
	It("shows Ready and Age for issuers", func() {
		Expect(columnsOf("tokenissuers", "default")).To(Equal([]string{"Name", "Ready", "Age"}))
		Expect(columnsOf("clustertokenissuers", "")).To(Equal([]string{"Name", "Ready", "Age"}))
	})
	It("answers to the short name and the category", func() {
		for _, want := range []string{"cftoken", "cloudflare"} {
			found := false
			lists, err := discoveryFor(cfg).ServerPreferredResources()
			Expect(err).NotTo(HaveOccurred())
			for _, l := range lists {
				for _, r := range l.APIResources {
					if r.Name == "cloudflaretokens" {
						found = found || contains(r.ShortNames, want) || contains(r.Categories, want)
					}
				}
			}
			Expect(found).To(BeTrue(), want)
		}
	})
})
