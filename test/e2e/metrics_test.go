package e2e

import (
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil/scrape"
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
				code, body, err := scrape.Metrics(ctx, metricsURL, strings.TrimSpace(token))
				g.Expect(err).NotTo(HaveOccurred()) // the endpoint may still be generating its certificate
				g.Expect(code).To(Equal(http.StatusOK), body)
				g.Expect(body).To(ContainSubstring("controller_runtime_reconcile_total"))
			}).Should(Succeed())
		})

	It("refuses anonymous requests and tokens without the role", func(ctx SpecContext) {
		code, _, err := scrape.Metrics(ctx, metricsURL, "")
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusUnauthorized))
		token := mustKubectl(ctx, w.admin, "create", "token", "-n", operatorNamespace, stranger)
		code, _, err = scrape.Metrics(ctx, metricsURL, strings.TrimSpace(token))
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusForbidden))
	})
})
