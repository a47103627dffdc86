package controller_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
	"github.com/tokenoperator/cloudflare-token-operator/internal/metrics"
)

// suiteMetrics is the Recorder the suite's manager reports to, registered in controller-runtime's registry
// as cmd/main.go does it.
func suiteMetrics() *metrics.Recorder {
	rec, err := metrics.Default()
	Expect(err).NotTo(HaveOccurred())
	return rec
}

// scrape GETs /metrics from a loopback server over controller-runtime's registry, as Prometheus would.
type scraper struct{ srv *httptest.Server }

func newScraper() *scraper {
	srv := httptest.NewServer(promhttp.HandlerFor(ctrlmetrics.Registry, promhttp.HandlerOpts{}))
	DeferCleanup(srv.Close)
	return &scraper{srv: srv}
}

func (s *scraper) scrape() (map[string]*dto.MetricFamily, string) {
	res, err := http.Get(s.srv.URL + "/metrics")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = res.Body.Close() }()
	Expect(res.StatusCode).To(Equal(http.StatusOK))
	body, err := io.ReadAll(res.Body)
	Expect(err).NotTo(HaveOccurred())
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	Expect(err).NotTo(HaveOccurred())
	return families, string(body)
}

// value is the value of the series of family name with exactly these labels, or -1 when there is none.
// Histograms answer their sample count.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := families["cloudflare_token_operator_"+name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if v, ok := labels[l.GetName()]; !ok || v != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

var _ = Describe("metrics endpoint", func() {
	It("exports each metric with the values of a known token, and never a token value", func() {
		scr := newScraper()
		const issuer = "ClusterTokenIssuer/metered"
		expiresOn := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)
		id, parent := fake.Seed(cloudflaretest.SeedToken{Name: "metered parent", Policies: parentPolicies(), ExpiresOn: &expiresOn})
		DeferCleanup(func() { fake.RevokeOutOfBand(id) })
		createSecretFor("metered", map[string]string{"api-token": parent})
		createClusterIssuer("metered", cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: "metered"}})
		waitIssuerReady("metered")

		before, _ := scr.scrape()
		Expect(value(before, "tokens_minted_total", map[string]string{"issuer": issuer, "reason": "NoToken"})).To(Equal(-1.0))

		By("a first mint")
		tok := createTokenFor("metered", "metered", func(t *cfv1.CloudflareToken) {
			t.Spec.RotationGracePeriod = &metav1.Duration{Duration: 0}
		})
		tok = waitReady(client.ObjectKeyFromObject(tok))
		series := map[string]string{"namespace": tok.Namespace, "name": tok.Name, "issuer": issuer}
		expectTimestamps := func(tok *cfv1.CloudflareToken) {
			Eventually(func(g Gomega) {
				fam, _ := scr.scrape()
				for name, want := range map[string]*metav1.Time{"token_expiry_timestamp_seconds": tok.Status.ExpiresAt,
					"token_renewal_timestamp_seconds": tok.Status.RenewalTime, "token_issued_timestamp_seconds": tok.Status.IssuedAt} {
					g.Expect(value(fam, name, series)).To(Equal(float64(want.Unix())), name)
				}
			}, 5*time.Second, 50*time.Millisecond).Should(Succeed())
		}
		expectTimestamps(tok)
		fam, _ := scr.scrape()
		Expect(value(fam, "tokens_minted_total", map[string]string{"issuer": issuer, "reason": "NoToken"})).To(Equal(1.0))

		By("a rotation, with the replaced token revoked at once (grace 0s)")
		oldID := tok.Status.TokenID
		rotate(tok, "metrics")
		Eventually(func(g Gomega) {
			cur := &cfv1.CloudflareToken{}
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(tok), cur)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(cur.Status.Conditions, cfv1.ConditionReady)).To(BeTrue())
			g.Expect(cur.Status.TokenID).NotTo(Equal(oldID))
			g.Expect(cur.Status.RetiringTokens).To(BeEmpty())
			tok = cur
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
		expectTimestamps(tok)
		Eventually(func(g Gomega) {
			fam, _ := scr.scrape()
			g.Expect(value(fam, "tokens_minted_total", map[string]string{"issuer": issuer, "reason": "RotateRequested"})).To(Equal(1.0))
			g.Expect(value(fam, "tokens_revoked_total", map[string]string{"issuer": issuer, "why": "rotation"})).To(Equal(1.0))
		}, 5*time.Second, 50*time.Millisecond).Should(Succeed())

		By("a failure, counted by reason")
		typo := createTokenFor("metered", "metered-typo", func(t *cfv1.CloudflareToken) { t.Spec.Permissions = []string{"DNS Wirte"} })
		waitReason(client.ObjectKeyFromObject(typo), "UnknownPermission")
		Eventually(func(g Gomega) {
			fam, _ := scr.scrape()
			g.Expect(value(fam, "reconcile_failures_total", map[string]string{"issuer": issuer, "reason": "UnknownPermission"})).To(BeNumerically(">=", 1))
		}, 5*time.Second, 50*time.Millisecond).Should(Succeed())

		By("Cloudflare requests, latency and the credential's budget")
		fam, body := scr.scrape()
		creates := value(fam, "cloudflare_requests_total", map[string]string{"endpoint": "POST /user/tokens", "status": "200"})
		Expect(creates).To(BeNumerically(">=", 2))
		Expect(value(fam, "cloudflare_requests_total", map[string]string{"endpoint": "DELETE /user/tokens/{id}", "status": "200"})).To(BeNumerically(">=", 1))
		Expect(value(fam, "cloudflare_request_duration_seconds", map[string]string{"endpoint": "POST /user/tokens"})).To(BeNumerically(">=", creates))
		hash := cloudflare.CredentialHash(cloudflare.Credential{APIToken: cloudflare.NewSecret(parent)})
		budget := value(fam, "cloudflare_budget_remaining", map[string]string{"credential_hash": hash})
		Expect(budget).To(BeNumerically(">", 900))
		Expect(budget).To(BeNumerically("<", 1000))
		server := value(fam, "cloudflare_server_ratelimit_remaining", map[string]string{"credential_hash": hash})
		Expect(server).To(BeNumerically(">", 0))
		Expect(server).To(BeNumerically("<", 1200))

		By("the issuer's credential expiry")
		Expect(value(fam, "issuer_credential_expiry_timestamp_seconds", map[string]string{"issuer": issuer})).To(Equal(float64(expiresOn.Unix())))

		By("no token or credential value anywhere in the scrape")
		Expect(containsAny(body, append(fake.AllTokenValues(), parent))).To(BeEmpty())

		By("tokens held against the quota, reported when the issuer is reconciled again")
		Eventually(func(g Gomega) {
			// Any spec change makes the issuer reconcile and report the inventory it has by now.
			iss := &cfv1.ClusterTokenIssuer{}
			g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Name: "metered"}, iss)).To(Succeed())
			iss.Spec.MaxTTL = &metav1.Duration{Duration: time.Duration(1000+iss.Generation) * time.Hour}
			g.Expect(k8sClient.Update(suiteCtx, iss)).To(Succeed())
			fam, _ := scr.scrape()
			held := value(fam, "issuer_tokens_held", map[string]string{"issuer": issuer})
			g.Expect(held).To(BeNumerically(">=", 1))
			g.Expect(held).To(BeNumerically("<=", 50))
			g.Expect(value(fam, "issuer_token_quota", map[string]string{"issuer": issuer})).To(Equal(50.0))
		}, 20*time.Second, 500*time.Millisecond).Should(Succeed())

		By("the token's series go with the token")
		deleteIfPresent(tok)
		Eventually(func(g Gomega) {
			fam, _ := scr.scrape()
			for _, name := range []string{"token_expiry_timestamp_seconds", "token_renewal_timestamp_seconds", "token_issued_timestamp_seconds"} {
				g.Expect(value(fam, name, series)).To(Equal(-1.0), name)
			}
			g.Expect(value(fam, "tokens_revoked_total", map[string]string{"issuer": issuer, "why": "deletion"})).To(Equal(1.0))
		}, 5*time.Second, 50*time.Millisecond).Should(Succeed())
	})
})
