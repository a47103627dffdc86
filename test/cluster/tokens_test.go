package cluster

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil/scrape"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster"
)

// cloudflareToken is a CloudflareToken for example.com through the ClusterTokenIssuer "cloudflare".
func cloudflareToken(ns, name, secret string) string {
	return fmt.Sprintf(`apiVersion: cloudflare.tokenoperator.dev/v1alpha1
kind: CloudflareToken
metadata:
  name: %s
  namespace: %s
spec:
  issuerRef:
    kind: ClusterTokenIssuer
    name: cloudflare
  zones: ["example.com"]
  permissions: ["Zone Read", "DNS Write"]
  ttl: 168h
  rotationGracePeriod: 3s
  deletionPolicy: Revoke
  secret:
    name: %s
`, name, ns, secret)
}

// lifecycle: the parent credential and the ClusterTokenIssuer, then one token minted, rotated, deleted.
func lifecycle(ctx SpecContext) {
	By("the platform team's parent credential and config/samples' ClusterTokenIssuer")
	mustKubectl(ctx, "create", "secret", "generic", "cf-parent", "-n", namespace,
		"--from-literal=api-token="+w.fake.Info.UserParentToken)
	mustKubectl(ctx, "apply", "-f", "config/samples/cloudflare_v1alpha1_clustertokenissuer.yaml")
	waitReady(ctx, "clustertokenissuer/cloudflare")

	By("a CloudflareToken in namespace cert-manager: minted into its Secret, live at Cloudflare")
	mustKubectlInput(ctx, restrictedNamespace("cert-manager"), "apply", "-f", "-")
	mustKubectlInput(ctx, cloudflareToken("cert-manager", "dns01", "cloudflare-api-token"), "apply", "-f", "-")
	waitReady(ctx, "-n", "cert-manager", "cftoken/dns01")
	firstID := tokenID(ctx, "cert-manager", "dns01")
	first := secretValue(ctx, "cert-manager", "cloudflare-api-token")
	Expect(verify(ctx, first)).To(Equal(firstID))

	By("rotation on the rotate annotation: a new live token, the old one revoked after the grace period")
	mustKubectl(ctx, "annotate", "-n", "cert-manager", "cftoken", "dns01", cfv1.AnnotationRotate+"=cluster-1", "--overwrite")
	Eventually(func() string { return tokenID(ctx, "cert-manager", "dns01") }).ShouldNot(Equal(firstID))
	waitReady(ctx, "-n", "cert-manager", "cftoken/dns01")
	rotatedID := tokenID(ctx, "cert-manager", "dns01")
	rotated := secretValue(ctx, "cert-manager", "cloudflare-api-token")
	Expect(verify(ctx, rotated)).To(Equal(rotatedID))
	Eventually(func() bool { return live(ctx, firstID) }).Should(BeFalse())

	By("deletion (deletionPolicy Revoke): the token revoked, the Secret gone")
	mustKubectl(ctx, "delete", "-n", "cert-manager", "cftoken", "dns01", "--timeout=2m")
	Expect(live(ctx, rotatedID)).To(BeFalse())
	_, err := w.admin.Run(ctx, "get", "-n", "cert-manager", "secret", "cloudflare-api-token")
	Expect(err).To(MatchError(ContainSubstring("NotFound")))
}

// scrapeThroughService: a ServiceAccount bound to the metrics-reader ClusterRole scrapes the metrics
// Service's ClusterIP from this host (kube-proxy's rules carry it to the Pod); a token without the role
// is refused.
func scrapeThroughService(ctx SpecContext) {
	ip := jsonpath(ctx, "{.spec.clusterIP}", "service", "-n", namespace, "cloudflare-token-operator-controller-manager-metrics-service")
	url := "https://" + ip + ":8443/metrics"
	mustKubectl(ctx, "create", "serviceaccount", "-n", namespace, "scraper")
	mustKubectl(ctx, "create", "serviceaccount", "-n", namespace, "stranger")
	mustKubectl(ctx, "create", "clusterrolebinding", "scraper", "--clusterrole=cloudflare-token-operator-metrics-reader",
		"--serviceaccount="+namespace+":scraper")
	token := strings.TrimSpace(mustKubectl(ctx, "create", "token", "-n", namespace, "scraper"))
	Eventually(func(g Gomega) {
		code, body, err := scrape.Metrics(ctx, url, token)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(code).To(Equal(http.StatusOK), body)
		g.Expect(body).To(ContainSubstring("controller_runtime_reconcile_total"))
	}).Should(Succeed())
	stranger := strings.TrimSpace(mustKubectl(ctx, "create", "token", "-n", namespace, "stranger"))
	code, _, err := scrape.Metrics(ctx, url, stranger)
	Expect(err).NotTo(HaveOccurred())
	Expect(code).To(Equal(http.StatusForbidden))
}

func tokenID(ctx SpecContext, ns, name string) string {
	GinkgoHelper()
	return jsonpath(ctx, "{.status.tokenID}", "-n", ns, "cftoken", name)
}

func secretValue(ctx SpecContext, ns, name string) string {
	GinkgoHelper()
	b, err := base64.StdEncoding.DecodeString(jsonpath(ctx, "{.data.api-token}", "-n", ns, "secret", name))
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

// verify calls Cloudflare's token verification with value, as a client of the token would; it returns
// the token's id when it is active.
func verify(ctx SpecContext, value string) string {
	GinkgoHelper()
	id, status, err := w.fake.Verify(ctx, value)
	Expect(err).NotTo(HaveOccurred())
	Expect(status).To(Equal("active"))
	return id
}

// live reports whether Cloudflare holds token id.
func live(ctx SpecContext, id string) bool {
	GinkgoHelper()
	toks, err := w.fake.Tokens(ctx)
	Expect(err).NotTo(HaveOccurred())
	for _, t := range toks {
		if t.ID == id {
			return true
		}
	}
	return false
}

// liveNamed are the live tokens whose name contains s (the minted tokens' names carry the resource's).
func liveNamed(ctx SpecContext, s string) []localcluster.FakeToken {
	GinkgoHelper()
	toks, err := w.fake.Tokens(ctx)
	Expect(err).NotTo(HaveOccurred())
	var out []localcluster.FakeToken
	for _, t := range toks {
		if strings.Contains(t.Name, s) {
			out = append(out, t)
		}
	}
	return out
}
