package admission_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

func validations(p *unstructured.Unstructured) []any {
	v, found, err := unstructured.NestedSlice(p.Object, "spec", "validations")
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	ExpectWithOffset(1, found).To(BeTrue())
	return v
}

// policyManifest is a ValidatingAdmissionPolicy as config/admission writes it.
func policyManifest(name string) *unstructured.Unstructured {
	for _, m := range manifests {
		if m.GetKind() == "ValidatingAdmissionPolicy" && m.GetName() == name {
			return m
		}
	}
	Fail("config/admission has no ValidatingAdmissionPolicy " + name)
	return nil
}

var _ = Describe("The policies", func() {
	It("type-check against the CRD schemas without a warning", func() {
		for _, name := range []string{clusterPolicy, tokenPolicy, warnPolicy} {
			writeTypeChecking(name)
			p := getPolicy(name)
			observed, _, _ := unstructured.NestedInt64(p.Object, "status", "observedGeneration")
			Expect(observed).To(Equal(p.GetGeneration()), name)
			_, found, _ := unstructured.NestedMap(p.Object, "status", "typeChecking")
			Expect(found).To(BeTrue(), name)
			warns, _, _ := unstructured.NestedSlice(p.Object, "status", "typeChecking", "expressionWarnings")
			Expect(warns).To(BeEmpty(), "%s: %v", name, warns)
		}
	})

	It("would report a CEL typo in status.typeChecking (so that the check above means something)", func() {
		typo := policyManifest(clusterPolicy).DeepCopy()
		typo.SetName("typo-check")
		v := validations(typo)
		// A field of the token that does not exist, and one of the issuer (the params) misspelt.
		typos := map[int][2]string{0: {"variables.zonesOutside", "object.spec.zone"}, 7: {"params.spec.maxTTL)", "params.spec.maxTtl)"}}
		for i, typo := range typos {
			val := v[i].(map[string]any)
			Expect(val["expression"]).To(ContainSubstring(typo[0]))
			val["expression"] = strings.Replace(val["expression"].(string), typo[0], typo[1], 1)
		}
		Expect(unstructured.SetNestedSlice(typo.Object, v, "spec", "validations")).To(Succeed())
		Expect(k8sClient.Create(ctx, typo)).To(Succeed())
		DeferCleanup(func() { Expect(k8sClient.Delete(ctx, typo)).To(Succeed()) })
		writeTypeChecking("typo-check")
		warns, _, _ := unstructured.NestedSlice(getPolicy("typo-check").Object, "status", "typeChecking", "expressionWarnings")
		Expect(warns).To(ConsistOf(
			And(HaveKeyWithValue("fieldRef", "spec.validations[0].expression"), HaveKeyWithValue("warning", ContainSubstring("zone"))),
			And(HaveKeyWithValue("fieldRef", "spec.validations[7].expression"), HaveKeyWithValue("warning", ContainSubstring("maxTtl"))),
		))
	})

	It("judge a TokenIssuer exactly as a ClusterTokenIssuer, but for the namespaceSelector", func() {
		cluster, local := policyManifest(clusterPolicy), policyManifest(tokenPolicy)
		asLocal := func(obj any) string {
			s := strings.ReplaceAll(toJSON(obj), "ClusterTokenIssuer", "TokenIssuer")
			return strings.ReplaceAll(s, "clustertokenissuer", "tokenissuer")
		}
		var clusterOnly []string
		var shared []any
		for _, v := range validations(cluster) {
			if strings.Contains(v.(map[string]any)["message"].(string), "namespaceSelector") {
				clusterOnly = append(clusterOnly, v.(map[string]any)["message"].(string))
				continue
			}
			shared = append(shared, v)
		}
		Expect(clusterOnly).To(ConsistOf(ruleMatchLabels, ruleMatchExpressions))
		Expect(toJSON(validations(local))).To(Equal(asLocal(shared)))

		for _, field := range []string{"failurePolicy", "matchConstraints", "matchConditions"} {
			Expect(toJSON(local.Object["spec"].(map[string]any)[field])).To(
				Equal(asLocal(cluster.Object["spec"].(map[string]any)[field])), field)
		}
		clusterVars, _, _ := unstructured.NestedSlice(cluster.Object, "spec", "variables")
		localVars, _, _ := unstructured.NestedSlice(local.Object, "spec", "variables")
		named := func(vars []any) map[string]string {
			out := map[string]string{}
			for _, v := range vars {
				out[v.(map[string]any)["name"].(string)] = asLocal(v.(map[string]any)["expression"])
			}
			return out
		}
		want := named(clusterVars)
		got := named(localVars)
		for _, clusterOnlyVar := range []string{"namespaceLabels", "labelsUnmatched", "expressionsUnmatched"} {
			delete(want, clusterOnlyVar)
		}
		// A TokenIssuer is named with its namespace.
		Expect(got["issuer"]).To(ContainSubstring("params.metadata.namespace"))
		delete(want, "issuer")
		delete(got, "issuer")
		Expect(got).To(Equal(want))
	})

	It("are each needed by a row: removing a validation changes the outcome of every row it decides", func() {
		for _, name := range []string{clusterPolicy, tokenPolicy, warnPolicy} {
			original := validations(policyManifest(name))
			DeferCleanup(restoreValidations, name, original)
			for i, v := range original {
				rule := v.(map[string]any)["message"].(string)
				rows := rowsFor(name, rule)
				Expect(rows).NotTo(BeEmpty(), "no row exercises validation %d of %s (%q)", i, name, rule)
				By(name + ": without " + rule)
				without := append(append([]any{}, original[:i]...), original[i+1:]...)
				setValidations(name, without)
				for _, r := range rows {
					Eventually(func() error { return r.verify(true) }).WithTimeout(30*time.Second).
						WithPolling(200*time.Millisecond).ShouldNot(Succeed(), "%s still passes without %q", r.desc, rule)
				}
				restoreValidations(name, original)
			}
		}
	})
})

func setValidations(name string, v []any) {
	GinkgoHelper()
	Eventually(func() error {
		p := getPolicy(name)
		if err := unstructured.SetNestedSlice(p.Object, v, "spec", "validations"); err != nil {
			return err
		}
		return k8sClient.Update(ctx, p)
	}).WithTimeout(10 * time.Second).Should(Succeed())
}

// restoreValidations puts a policy's validations back and waits until every row it decides passes again.
func restoreValidations(name string, original []any) {
	GinkgoHelper()
	setValidations(name, original)
	for _, v := range original {
		for _, r := range rowsFor(name, v.(map[string]any)["message"].(string)) {
			Eventually(func() error { return r.verify(true) }).WithTimeout(30 * time.Second).
				WithPolling(200 * time.Millisecond).Should(Succeed())
		}
	}
}

// kubectl runs the kubectl of the control-plane binaries as a cluster admin.
func kubectl(stdin string, args ...string) (stdout, stderr string, err error) {
	GinkgoHelper()
	path := filepath.Join(testEnv.BinaryAssetsDirectory, "kubectl")
	_, statErr := os.Stat(path)
	Expect(statErr).NotTo(HaveOccurred(), "kubectl missing beside kube-apiserver: run `make envtest`")
	user, err := testEnv.AddUser(envtest.User{Name: "admission-test", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	kubeconfig, err := user.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	file := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(os.WriteFile(file, kubeconfig, 0o600)).To(Succeed())
	cmd := exec.CommandContext(ctx, path, append([]string{"--kubeconfig", file}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Dir = testutil.RepoRoot()
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

var _ = Describe("kubectl", func() {
	It("prints the blocked-TLD warning on apply, and the token is created", func() {
		stdout, stderr, err := kubectl(`
apiVersion: cloudflare.tokenoperator.dev/v1alpha1
kind: CloudflareToken
metadata: {name: kubectl-tk, namespace: plain}
spec:
  issuerRef: {kind: ClusterTokenIssuer, name: open}
  zones: ["x.tk"]
  permissions: ["Zone Read", "DNS Write"]
`, "apply", "-f", "-")
		Expect(err).NotTo(HaveOccurred(), stderr)
		Expect(stdout).To(Equal("cloudflaretoken.cloudflare.tokenoperator.dev/kubectl-tk created\n"))
		Expect(stderr).To(Equal("Warning: Validation failed for ValidatingAdmissionPolicy 'blocked-tld-warning' with binding " +
			"'blocked-tld-warning': spec.zones: Cloudflare refuses DNS record edits through the API for .cf, .ga, .gq, .ml and " +
			".tk zones (zone 'x.tk'); the token is minted but cert-manager DNS-01 will fail\n"))
	})

	It("prints the denial of an out-of-bounds token on apply", func() {
		_, stderr, err := kubectl(`
apiVersion: cloudflare.tokenoperator.dev/v1alpha1
kind: CloudflareToken
metadata: {name: kubectl-wide, namespace: plain}
spec:
  issuerRef: {kind: ClusterTokenIssuer, name: bounded}
  zones: ["example.org"]
  permissions: ["Zone Read"]
`, "apply", "-f", "-")
		Expect(err).To(HaveOccurred())
		Expect(stderr).To(ContainSubstring(`cloudflaretokens.cloudflare.tokenoperator.dev "kubectl-wide" is forbidden: ` +
			deniedBy(clusterPolicy, "spec.zones: zone 'example.org' is not in "+boundedZones)))
	})

	It("renders config/default with the policies prefixed and each binding naming its prefixed policy", func() {
		stdout, stderr, err := kubectl("", "kustomize", filepath.Join("config", "default"))
		Expect(err).NotTo(HaveOccurred(), stderr)
		rendered := map[string]*unstructured.Unstructured{}
		var bindings []*unstructured.Unstructured
		var admission bytes.Buffer
		for _, obj := range decodeManifests([]byte(stdout)) {
			switch obj.GetKind() {
			case "ValidatingAdmissionPolicy":
				rendered[obj.GetName()] = obj
			case "ValidatingAdmissionPolicyBinding":
				bindings = append(bindings, obj)
			default:
				continue
			}
			admission.WriteString(toJSON(obj.Object) + "\n")
		}
		Expect(rendered).To(HaveLen(3))
		Expect(bindings).To(HaveLen(3))
		for _, name := range []string{clusterPolicy, tokenPolicy, warnPolicy} {
			p := rendered["cloudflare-token-operator-"+name]
			Expect(p).NotTo(BeNil(), name)
			Expect(toJSON(p.Object["spec"])).To(Equal(toJSON(policyManifest(name).Object["spec"])))
		}
		for _, b := range bindings {
			Expect(b.GetName()).To(HavePrefix("cloudflare-token-operator-"))
			policyName, _, _ := unstructured.NestedString(b.Object, "spec", "policyName")
			Expect(rendered).To(HaveKey(policyName), "binding %s", b.GetName())
		}
		// The API server takes them as `kubectl apply -k config/default` sends them (kubectl's kustomize
		// may write a metadata.namespace on these cluster-scoped kinds; it is dropped).
		stdout, stderr, err = kubectl(admission.String(), "apply", "--dry-run=server", "-f", "-")
		Expect(err).NotTo(HaveOccurred(), stderr)
		for _, name := range []string{clusterPolicy, tokenPolicy, warnPolicy} {
			Expect(stdout).To(ContainSubstring("validatingadmissionpolicy.admissionregistration.k8s.io/cloudflare-token-operator-" +
				name + " created (server dry run)"))
			Expect(stdout).To(ContainSubstring("validatingadmissionpolicybinding.admissionregistration.k8s.io/cloudflare-token-operator-" +
				name + " created (server dry run)"))
		}
	})
})
