package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster"
)

const (
	tokenNamespace = "cert-manager"
	tokenName      = "dns01"
	secretName     = "cloudflare-api-token"
	zoneName       = "example.com"
)

// The CloudflareToken a team would write for cert-manager (config/samples' one, with a short grace period so
// that the suite sees the replaced token revoked).
const cloudflareToken = `apiVersion: cloudflare.tokenoperator.dev/v1alpha1
kind: CloudflareToken
metadata:
  name: dns01
  namespace: cert-manager
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
    name: cloudflare-api-token
`

var _ = Describe("The operator, as its ServiceAccount, through a token's whole life", Ordered, func() {
	var (
		first    tokenState // the first minted token
		rotated  tokenState // after the forced rotation
		parentID string
	)

	It("acts as its ServiceAccount, not as an administrator", func(ctx SpecContext) {
		who := mustKubectl(ctx, w.operator, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
		Expect(who).To(Equal("system:serviceaccount:" + operatorNamespace + ":" + serviceAccount))
		// The ServiceAccount holds what config/rbac grants, nothing more (what it needs, the lifecycle below
		// proves: take a rule out of config/rbac and a spec fails).
		Expect(canI(ctx, w.operator, "create", "cloudflaretokens.cloudflare.tokenoperator.dev", "-n", tokenNamespace)).To(BeFalse())
		Expect(canI(ctx, w.operator, "delete", "namespaces")).To(BeFalse())
	})

	It("verifies the platform team's parent credential: ClusterTokenIssuer Ready", func(ctx SpecContext) {
		By("creating the parent Secret cf-parent with the fake's user token (API Tokens Write)")
		mustKubectlInput(ctx, w.admin, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: cf-parent
  namespace: %s
type: Opaque
stringData:
  api-token: %q
`, operatorNamespace, w.fake.Info.UserParentToken), "apply", "-f", "-")
		parentID = verifyActive(ctx, w.fake.Info.UserParentToken)

		By("applying config/samples/cloudflare_v1alpha1_clustertokenissuer.yaml")
		mustKubectl(ctx, w.admin, "apply", "-f", "config/samples/cloudflare_v1alpha1_clustertokenissuer.yaml")
		waitReady(ctx, "clustertokenissuer/cloudflare")
	})

	It("mints a token of exactly the declared scope into a Secret for cert-manager", func(ctx SpecContext) {
		mustKubectl(ctx, w.admin, "create", "namespace", tokenNamespace)
		mustKubectlInput(ctx, w.admin, cloudflareToken, "apply", "-f", "-")
		waitReady(ctx, "-n", tokenNamespace, "cftoken/"+tokenName)
		first = readToken(ctx)

		By("the Secret carries the operator's labels, annotations and owner reference")
		Expect(first.secret.Labels).To(HaveKeyWithValue(cfv1.LabelManagedBy, "cloudflare-token-operator"))
		Expect(first.secret.Labels).To(HaveKeyWithValue(cfv1.LabelToken, tokenName))
		Expect(first.secret.Annotations).To(HaveKeyWithValue(cfv1.AnnotationTokenID, first.status.TokenID))
		Expect(first.secret.Annotations).To(HaveKey(cfv1.AnnotationExpiresAt))
		Expect(first.secret.OwnerReferences).To(ContainElement(And(
			HaveField("Kind", "CloudflareToken"), HaveField("Name", tokenName))))
		Expect(first.value).NotTo(HaveSuffix("\n"))

		By("the value is a live token at Cloudflare, the one the status names")
		Expect(verifyActive(ctx, first.value)).To(Equal(first.status.TokenID))
		Expect(first.status.TokenID).NotTo(Equal(parentID))

		By("Cloudflare holds it with one allow policy: Zone Read and DNS Write on example.com, expiring after ttl")
		tok := liveToken(ctx, first.status.TokenID)
		Expect(tok).NotTo(BeNil())
		Expect(tok.Policies).To(HaveLen(1))
		Expect(tok.Policies[0].Effect).To(Equal("allow"))
		groupIDs := make([]string, 0, len(first.status.PermissionGroups))
		for _, g := range first.status.PermissionGroups {
			groupIDs = append(groupIDs, g.ID)
		}
		Expect(first.status.PermissionGroups).To(HaveLen(2))
		Expect(tok.Policies[0].PermissionGroupIDs).To(ConsistOf(groupIDs))
		Expect(tok.Policies[0].Resources).To(Equal(map[string]any{
			"com.cloudflare.api.account.zone." + w.fake.Info.Zones[zoneName]: "*"}))
		Expect(tok.ExpiresOn).NotTo(BeNil())
		Expect(*tok.ExpiresOn).To(BeTemporally("~", time.Now().Add(168*time.Hour), 2*time.Minute))
		Expect(tok.Name).To(ContainSubstring(tokenName))
	})

	It("gives cert-manager's DNS-01 solver what it needs: a TXT record in the zone, and its removal", func(ctx SpecContext) {
		solveDNS01(ctx, first.value)
	})

	It("rotates on the rotate annotation without a gap, and revokes the old token after the grace period", func(ctx SpecContext) {
		mustKubectl(ctx, w.admin, "annotate", "-n", tokenNamespace, "cftoken", tokenName,
			cfv1.AnnotationRotate+"=e2e-1", "--overwrite")
		Eventually(func(g Gomega) {
			id := mustKubectl(ctx, w.admin, "get", "-n", tokenNamespace, "cftoken", tokenName, "-o", "jsonpath={.status.tokenID}")
			g.Expect(id).NotTo(Equal(first.status.TokenID))
			// Whatever moment it is sampled, the Secret holds a live token.
			g.Expect(verify(ctx, readSecretValue(ctx))).To(Succeed())
		}).Should(Succeed())
		waitReady(ctx, "-n", tokenNamespace, "cftoken/"+tokenName)
		rotated = readToken(ctx)
		Expect(rotated.status.TokenID).NotTo(Equal(first.status.TokenID))
		Expect(rotated.value).NotTo(Equal(first.value))
		Expect(verifyActive(ctx, rotated.value)).To(Equal(rotated.status.TokenID))
		Expect(rotated.status.LastRotateRequest).To(Equal("e2e-1"))

		By("the replaced token is revoked (DELETE at Cloudflare) once rotationGracePeriod has passed")
		Eventually(func() *localcluster.FakeToken { return liveToken(ctx, first.status.TokenID) }).Should(BeNil())
		Expect(verify(ctx, first.value)).NotTo(Succeed())
		Eventually(func() []cfv1.RetiringToken { return readToken(ctx).status.RetiringTokens }).Should(BeEmpty())

		By("the same annotation value does not rotate twice")
		mustKubectl(ctx, w.admin, "annotate", "-n", tokenNamespace, "cftoken", tokenName, "unrelated=change", "--overwrite")
		Consistently(func() string {
			return mustKubectl(ctx, w.admin, "get", "-n", tokenNamespace, "cftoken", tokenName, "-o", "jsonpath={.status.tokenID}")
		}, 3*time.Second).Should(Equal(rotated.status.TokenID))
		solveDNS01(ctx, rotated.value)
	})

	It("revokes every token of the resource and deletes the Secret when the CloudflareToken is deleted", func(ctx SpecContext) {
		mustKubectl(ctx, w.admin, "delete", "-n", tokenNamespace, "cftoken", tokenName, "--wait=true", "--timeout=60s")
		Expect(liveToken(ctx, rotated.status.TokenID)).To(BeNil())
		Expect(verify(ctx, rotated.value)).NotTo(Succeed())
		_, err := w.admin.Run(ctx, "get", "-n", tokenNamespace, "secret", secretName)
		Expect(err).To(MatchError(ContainSubstring("NotFound")))

		By("Cloudflare holds no token of this cluster any more: only the parent credentials")
		live := fakeTokens(ctx)
		Expect(live).To(ContainElement(HaveField("ID", parentID)))
		for _, t := range live {
			Expect(t.Name).NotTo(ContainSubstring(tokenName), "token %s (%s) outlived its CloudflareToken", t.ID, t.Name)
		}
	})

	It("never wrote a token value into its log", func() {
		resp, err := http.Get(w.fake.Info.AdminURL + "/token-values")
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		var values []string
		Expect(json.NewDecoder(resp.Body).Decode(&values)).To(Succeed())
		Expect(values).To(ContainElements(first.value, rotated.value))
		log := w.op.Log()
		Expect(log).To(ContainSubstring("starting manager"))
		for _, v := range values {
			Expect(strings.Contains(log, v)).To(BeFalse(), "a token value appears in the manager's log")
		}
	})
})

// tokenState is what a user sees of a CloudflareToken: its status and its Secret.
type tokenState struct {
	status cfv1.CloudflareTokenStatus
	secret secretView
	value  string
}

type secretView struct {
	Labels          map[string]string `json:"labels"`
	Annotations     map[string]string `json:"annotations"`
	OwnerReferences []struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"ownerReferences"`
}

func readToken(ctx context.Context) tokenState {
	GinkgoHelper()
	var tok cfv1.CloudflareToken
	Expect(w.admin.GetJSON(ctx, &tok, "-n", tokenNamespace, "cftoken", tokenName)).To(Succeed())
	Expect(tok.Status.SecretName).To(Equal(secretName))
	var s struct {
		Metadata secretView        `json:"metadata"`
		Data     map[string][]byte `json:"data"`
	}
	Expect(w.admin.GetJSON(ctx, &s, "-n", tokenNamespace, "secret", secretName)).To(Succeed())
	Expect(s.Data).To(HaveKey("api-token"))
	return tokenState{status: tok.Status, secret: s.Metadata, value: string(s.Data["api-token"])}
}

func readSecretValue(ctx context.Context) string {
	GinkgoHelper()
	var s struct {
		Data map[string][]byte `json:"data"`
	}
	Expect(w.admin.GetJSON(ctx, &s, "-n", tokenNamespace, "secret", secretName)).To(Succeed())
	return string(s.Data["api-token"])
}

// waitReady waits for Ready=True and says what the condition last said when it does not come.
func waitReady(ctx context.Context, obj ...string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		c, err := w.admin.ReadyCondition(ctx, obj...)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(c.Status).To(Equal("True"), "Ready=%q reason=%q message=%q", c.Status, c.Reason, c.Message)
	}).Should(Succeed(), "%s Ready", strings.Join(obj, " "))
}

func canI(ctx context.Context, k localcluster.Kubectl, args ...string) bool {
	GinkgoHelper()
	out, _ := k.Run(ctx, append([]string{"auth", "can-i"}, args...)...) // "no" exits 1
	return strings.TrimSpace(out) == "yes"
}

func verify(ctx context.Context, value string) error {
	_, status, err := w.fake.Verify(ctx, value)
	if err != nil {
		return err
	}
	if status != "active" {
		return fmt.Errorf("token status %s", status)
	}
	return nil
}

func verifyActive(ctx context.Context, value string) string {
	GinkgoHelper()
	id, status, err := w.fake.Verify(ctx, value)
	Expect(err).NotTo(HaveOccurred())
	Expect(status).To(Equal("active"))
	return id
}

func fakeTokens(ctx context.Context) []localcluster.FakeToken {
	GinkgoHelper()
	toks, err := w.fake.Tokens(ctx)
	Expect(err).NotTo(HaveOccurred())
	return toks
}

// liveToken is the fake's live token of that id, or nil when Cloudflare no longer holds it.
func liveToken(ctx context.Context, id string) *localcluster.FakeToken {
	GinkgoHelper()
	for _, t := range fakeTokens(ctx) {
		if t.ID == id {
			return &t
		}
	}
	return nil
}

// solveDNS01 makes, with the token, the calls cert-manager's Cloudflare DNS-01 solver makes (find the zone by
// name, create the TXT record, find it again, delete it). test/certmanager runs cert-manager's own solver
// code against the fake; its module is kept apart from the operator's go.mod, so this suite speaks HTTP.
func solveDNS01(ctx context.Context, token string) {
	GinkgoHelper()
	base := strings.TrimRight(w.fake.Info.URL, "/")
	var zones struct {
		Result []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"result"`
	}
	cfCall(ctx, token, http.MethodGet, base+"/zones?name="+url.QueryEscape(zoneName), nil, &zones)
	Expect(zones.Result).To(ConsistOf(HaveField("Name", zoneName)))
	zoneID := zones.Result[0].ID

	fqdn := "_acme-challenge." + zoneName
	var created struct {
		Result struct {
			ID string `json:"id"`
		} `json:"result"`
	}
	cfCall(ctx, token, http.MethodPost, base+"/zones/"+zoneID+"/dns_records",
		map[string]any{"type": "TXT", "name": fqdn, "content": "challenge-value", "ttl": 120}, &created)
	Expect(created.Result.ID).NotTo(BeEmpty())

	var found struct {
		Result []struct {
			ID string `json:"id"`
		} `json:"result"`
	}
	cfCall(ctx, token, http.MethodGet, base+"/zones/"+zoneID+"/dns_records?type=TXT&name="+url.QueryEscape(fqdn), nil, &found)
	Expect(found.Result).To(ContainElement(HaveField("ID", created.Result.ID)))
	cfCall(ctx, token, http.MethodDelete, base+"/zones/"+zoneID+"/dns_records/"+created.Result.ID, nil, nil)
}

// cfCall calls Cloudflare's API with a bearer token and expects success.
func cfCall(ctx context.Context, token, method, u string, body, into any) {
	GinkgoHelper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		Expect(err).NotTo(HaveOccurred())
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(BeNumerically("<", 300), "%s %s: %s %s", method, req.URL.Path, resp.Status, raw)
	if into != nil {
		Expect(json.Unmarshal(raw, into)).To(Succeed())
	}
}
