package e2e

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("The metrics endpoint", Ordered, func() {
	const (
		scraper  = "e2e-metrics-scraper"
		stranger = "e2e-metrics-stranger"
		binding  = "e2e-metrics-scraper"
	)
	var metricsURL string

	BeforeAll(func(ctx SpecContext) {
		var err error
		metricsURL, err = w.op.MetricsURL(ctx)
		Expect(err).NotTo(HaveOccurred())
		// Two ServiceAccounts: one bound to config/rbac's metrics-reader ClusterRole, one bound to nothing.
		mustKubectl(ctx, w.admin, "create", "serviceaccount", "-n", operatorNamespace, scraper)
		mustKubectl(ctx, w.admin, "create", "serviceaccount", "-n", operatorNamespace, stranger)
		mustKubectl(ctx, w.admin, "create", "clusterrolebinding", binding,
			"--clusterrole=cloudflare-token-operator-metrics-reader", "--serviceaccount="+operatorNamespace+":"+scraper)
		DeferCleanup(func(ctx SpecContext) {
			mustKubectl(ctx, w.admin, "delete", "clusterrolebinding", binding)
			mustKubectl(ctx, w.admin, "delete", "serviceaccount", "-n", operatorNamespace, scraper, stranger)
		})
	})

	It("serves metrics to a holder of the metrics-reader ClusterRole (the manager checks with TokenReview and SubjectAccessReview)",
		func(ctx SpecContext) {
			token := mustKubectl(ctx, w.admin, "create", "token", "-n", operatorNamespace, scraper)
			Eventually(func(g Gomega) {
				code, body, err := scrape(ctx, metricsURL, strings.TrimSpace(token))
				g.Expect(err).NotTo(HaveOccurred()) // the endpoint may still be generating its certificate
				g.Expect(code).To(Equal(http.StatusOK), body)
				g.Expect(body).To(ContainSubstring("controller_runtime_reconcile_total"))
			}).Should(Succeed())
		})

	It("refuses anonymous requests and tokens without the role", func(ctx SpecContext) {
		code, _, err := scrape(ctx, metricsURL, "")
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusUnauthorized))
		token := mustKubectl(ctx, w.admin, "create", "token", "-n", operatorNamespace, stranger)
		code, _, err = scrape(ctx, metricsURL, strings.TrimSpace(token))
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusForbidden))
	})
})

// scrape GETs the metrics endpoint (its certificate is the manager's self-signed one) with a bearer token.
func scrape(ctx context.Context, url, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback, self-signed by the manager
	}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
