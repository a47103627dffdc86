// Package admission_test runs the ValidatingAdmissionPolicies of config/admission on a real kube-apiserver
// (envtest): the policies are applied from the YAML the operator ships, and CloudflareTokens inside and
// outside their issuers' bounds are written against them.
package admission_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

// Names of the shipped policies (and of their bindings), as written in config/admission.
const (
	clusterPolicy = "clustertokenissuer-bounds"
	tokenPolicy   = "tokenissuer-bounds"
	warnPolicy    = "blocked-tld-warning"
)

var (
	testEnv   *testutil.Env
	cfg       *rest.Config
	k8sClient client.Client
	warnings  = &warningRecorder{}
	ctx       context.Context
	cancel    context.CancelFunc
	// manifests holds the objects applied from config/admission, as read from the files.
	manifests []*unstructured.Unstructured
)

func TestAdmission(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Admission policies suite (real kube-apiserver)")
}

// warningRecorder collects the warnings the API server sends back (Warning headers), as kubectl prints them.
type warningRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

func (w *warningRecorder) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = nil
}

func (w *warningRecorder) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.seen...)
}

var _ = BeforeSuite(func() {
	ctx, cancel = context.WithCancel(context.Background())
	var err error
	testEnv, err = testutil.StartEnv()
	Expect(err).NotTo(HaveOccurred())
	cfg = testEnv.Config
	k8sClient, err = testEnv.NewClient(func(c *rest.Config) { c.WarningHandler = warnings })
	Expect(err).NotTo(HaveOccurred())

	manifests = readAdmissionManifests()
	for _, obj := range manifests {
		Expect(k8sClient.Create(ctx, obj.DeepCopy())).To(Succeed(), "creating %s %s", obj.GetKind(), obj.GetName())
	}
	createFixtures()
	waitForPolicies()
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	Expect(testEnv.Stop()).To(Succeed())
})

// readAdmissionManifests decodes every resource config/admission/kustomization.yaml lists.
func readAdmissionManifests() []*unstructured.Unstructured {
	dir := filepath.Join(testutil.RepoRoot(), "config", "admission")
	raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var kustomization struct {
		Resources []string `json:"resources"`
	}
	Expect(yaml.Unmarshal(raw, &kustomization)).To(Succeed())
	Expect(kustomization.Resources).NotTo(BeEmpty())
	out := make([]*unstructured.Unstructured, 0, 2*len(kustomization.Resources))
	for _, file := range kustomization.Resources {
		data, err := os.ReadFile(filepath.Join(dir, file))
		Expect(err).NotTo(HaveOccurred())
		out = append(out, decodeManifests(data)...)
	}
	return out
}

func decodeManifests(data []byte) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		obj := map[string]any{}
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return out
		}
		Expect(err).NotTo(HaveOccurred())
		if len(obj) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
}

// Namespaces, their labels, and the issuers the tables write tokens against.
const (
	nsPlain      = "plain"        // no labels
	nsSelected   = "selected"     // picked by ClusterTokenIssuer "selective"
	nsWrongValue = "wrong-value"  // carries the selector's key with another value
	nsTeam       = "team"         // TokenIssuer "local", narrow bounds
	nsOther      = "other"        // TokenIssuer "local" too, any zone
	nsExprOK     = "expr-ok"      // matches every requirement of ClusterTokenIssuer "expressive"
	nsExprNoTier = "expr-no-tier" // NotIn is met by a missing label
	nsExprIn     = "expr-in"      // env=dev: fails In
	nsExprNotIn  = "expr-notin"   // tier=untrusted: fails NotIn
	nsExprExists = "expr-exists"  // no cloudflare-tokens label: fails Exists
	nsExprDNE    = "expr-dne"     // quarantined: fails DoesNotExist
)

var namespaces = map[string]map[string]string{
	nsPlain:      nil,
	nsSelected:   {"cloudflare-tokens": "allowed"},
	nsWrongValue: {"cloudflare-tokens": "denied"},
	nsTeam:       nil,
	nsOther:      nil,
	nsExprOK:     {"env": "prod", "tier": "web", "cloudflare-tokens": "yes"},
	nsExprNoTier: {"env": "staging", "cloudflare-tokens": "yes"},
	nsExprIn:     {"env": "dev", "cloudflare-tokens": "yes"},
	nsExprNotIn:  {"env": "prod", "tier": "untrusted", "cloudflare-tokens": "yes"},
	nsExprExists: {"env": "prod"},
	nsExprDNE:    {"env": "prod", "cloudflare-tokens": "yes", "quarantined": "true"},
}

func credential() *cfv1.SecretKeyRef { return &cfv1.SecretKeyRef{Name: "cf-parent"} }

func hours(h int) *metav1.Duration { return &metav1.Duration{Duration: time.Duration(h) * time.Hour} }

func createFixtures() {
	for name, labels := range namespaces {
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})).To(Succeed())
	}
	clusterIssuers := []*cfv1.ClusterTokenIssuer{
		{ObjectMeta: metav1.ObjectMeta{Name: "bounded"}, Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
			APITokenSecretRef:   credential(),
			AllowedZones:        []string{"example.com"},
			AllowedPermissions:  []string{"Zone Read", "DNS Write"},
			MaxTTL:              hours(1000),
			DefaultSourceRanges: &cfv1.SourceRanges{Allow: []cfv1.CIDR{"203.0.113.0/24"}},
		}}},
		// "*" allows anything.
		{ObjectMeta: metav1.ObjectMeta{Name: "open"}, Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: anything()}},
		{ObjectMeta: metav1.ObjectMeta{Name: "selective"}, Spec: cfv1.ClusterTokenIssuerSpec{
			IssuerSpec:        anything(),
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"cloudflare-tokens": "allowed"}},
		}},
		{ObjectMeta: metav1.ObjectMeta{Name: "expressive"}, Spec: cfv1.ClusterTokenIssuerSpec{
			IssuerSpec: anything(),
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"prod", "staging"}},
				{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"untrusted"}},
				{Key: "cloudflare-tokens", Operator: metav1.LabelSelectorOpExists},
				{Key: "quarantined", Operator: metav1.LabelSelectorOpDoesNotExist},
			}},
		}},
		// Made stricter while a token minted through it exists (bounds_test.go).
		{ObjectMeta: metav1.ObjectMeta{Name: "tightened"}, Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
			APITokenSecretRef:  credential(),
			AllowedZones:       []string{"example.com", "example.net"},
			AllowedPermissions: []string{"*"},
		}}},
	}
	for _, iss := range clusterIssuers {
		Expect(k8sClient.Create(ctx, iss)).To(Succeed())
	}
	tokenIssuers := []*cfv1.TokenIssuer{
		{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: nsTeam}, Spec: cfv1.IssuerSpec{
			APITokenSecretRef:   credential(),
			AllowedZones:        []string{"team.example.com"},
			AllowedPermissions:  []string{"DNS Read", "DNS Write"},
			MaxTTL:              hours(200),
			DefaultSourceRanges: &cfv1.SourceRanges{Allow: []cfv1.CIDR{"198.51.100.0/24", "2001:db8::/32"}},
		}},
		// The same name in another namespace, with other bounds: a token is judged by its own namespace's.
		{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: nsOther}, Spec: anything()},
	}
	for _, iss := range tokenIssuers {
		Expect(k8sClient.Create(ctx, iss)).To(Succeed())
	}
	createTrustFixtures()
}

// anything is an issuer spec that allows any zone and any permission ("*"; an empty list allows nothing).
func anything() cfv1.IssuerSpec {
	return cfv1.IssuerSpec{APITokenSecretRef: credential(), AllowedZones: []string{"*"}, AllowedPermissions: []string{"*"}}
}

// waitForPolicies type-checks every policy (as kube-controller-manager would) and waits until the API
// server enforces them: policy activation (and the param informers) are asynchronous, so probe with
// dry-run writes until the bounds are denied and the warning is given.
func waitForPolicies() {
	for _, name := range []string{clusterPolicy, tokenPolicy, warnPolicy} {
		writeTypeChecking(name)
	}
	probes := []*cfv1.CloudflareToken{
		token("probe", nsPlain, "ClusterTokenIssuer", "bounded", zones("example.org")),
		token("probe", nsTeam, "TokenIssuer", "local", zones("example.org"), permissions("DNS Read")),
	}
	for _, p := range probes {
		Eventually(func() error {
			return k8sClient.Create(ctx, p.DeepCopy(), client.DryRunAll)
		}).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(MatchError(ContainSubstring("denied request")))
	}
	Eventually(func() []string {
		warnings.reset()
		_ = k8sClient.Create(ctx, token("probe", nsPlain, "ClusterTokenIssuer", "open", zones("example.tk")), client.DryRunAll)
		return warnings.list()
	}).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).ShouldNot(BeEmpty())
}

// toJSON renders decoded YAML for comparison.
func toJSON(v any) string {
	b, err := json.Marshal(v)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return string(b)
}

func getPolicy(name string) *unstructured.Unstructured {
	p := &unstructured.Unstructured{}
	p.SetAPIVersion("admissionregistration.k8s.io/v1")
	p.SetKind("ValidatingAdmissionPolicy")
	ExpectWithOffset(1, k8sClient.Get(ctx, client.ObjectKey{Name: name}, p)).To(Succeed())
	return p
}

// token builds a CloudflareToken; options shape its spec. Without options it asks for "Zone Read".
func token(name, namespace, kind, issuer string, opts ...func(*cfv1.CloudflareTokenSpec)) *cfv1.CloudflareToken {
	t := &cfv1.CloudflareToken{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: cfv1.CloudflareTokenSpec{
			IssuerRef:   cfv1.IssuerRef{Kind: kind, Name: issuer},
			Permissions: []string{"Zone Read"},
		},
	}
	for _, o := range opts {
		o(&t.Spec)
	}
	return t
}

func zones(z ...string) func(*cfv1.CloudflareTokenSpec) {
	return func(s *cfv1.CloudflareTokenSpec) { s.Zones = z }
}

func permissions(p ...string) func(*cfv1.CloudflareTokenSpec) {
	return func(s *cfv1.CloudflareTokenSpec) { s.Permissions = p }
}

func ttl(h int) func(*cfv1.CloudflareTokenSpec) {
	return func(s *cfv1.CloudflareTokenSpec) { s.TTL = hours(h) }
}

func allowFrom(cidrs ...cfv1.CIDR) func(*cfv1.CloudflareTokenSpec) {
	return func(s *cfv1.CloudflareTokenSpec) { s.SourceRanges = &cfv1.SourceRanges{Allow: cidrs} }
}

// withPolicies switches the token to the policies form.
func withPolicies(p ...cfv1.Policy) func(*cfv1.CloudflareTokenSpec) {
	return func(s *cfv1.CloudflareTokenSpec) { s.Zones, s.Permissions, s.Policies = nil, nil, p }
}
