package packaging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

const (
	// installNamespace is where dist/install.yaml and config/default install the operator.
	installNamespace = "cloudflare-token-operator"
	fieldManager     = "packaging-test"
	// restrictedViolation is how the PodSecurity admission plugin words a refusal and a warning.
	restrictedViolation = "PodSecurity"
)

// psaLabels make a namespace enforce (and warn about) the restricted Pod Security Standard, latest version.
var psaLabels = map[string]string{
	"pod-security.kubernetes.io/enforce":         "restricted",
	"pod-security.kubernetes.io/enforce-version": "latest",
	"pod-security.kubernetes.io/warn":            "restricted",
	"pod-security.kubernetes.io/warn-version":    "latest",
}

// The kinds dist/install.yaml (and config/default) must hold, with how many of each.
var installKinds = map[string]int{
	"Namespace": 1, "CustomResourceDefinition": 3, "ServiceAccount": 1, "Role": 1, "RoleBinding": 1,
	"ClusterRoleBinding": 2, "Service": 1, "Deployment": 1,
	"ValidatingAdmissionPolicy": 3, "ValidatingAdmissionPolicyBinding": 3,
}

func TestInstallYAML(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "dist", "install.yaml"))
	if err != nil {
		t.Fatalf("dist/install.yaml (make build-installer): %v", err)
	}
	objs := decode(t, data)
	checkKinds(t, objs, installKinds)
	checkClusterRole(t, objs, installNamespace+"-manager-role")
	ensureNamespaceFrom(t, objs, installNamespace)
	dryRunApply(t, objs)
	checkDeployment(t, objs, installNamespace, 1)

	// What a user runs: kubectl apply --server-side --dry-run=server -f dist/install.yaml.
	out, err := exec.Command(filepath.Join(assetsDir, "kubectl"), "--kubeconfig", kubeconfig, "apply",
		"--server-side", "--dry-run=server", "--field-manager", fieldManager,
		"-f", filepath.Join(testutil.RepoRoot(), "dist", "install.yaml")).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl apply --server-side --dry-run=server -f dist/install.yaml: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "(server dry run)"); n != len(objs) {
		t.Errorf("kubectl applied %d of %d objects:\n%s", n, len(objs), out)
	}
}

// config/default rendered with kustomize (kubectl's built-in kustomize) is what GitOps users apply.
func TestConfigDefault(t *testing.T) {
	out, err := exec.Command(filepath.Join(assetsDir, "kubectl"), "kustomize",
		filepath.Join(testutil.RepoRoot(), "config", "default")).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize config/default: %v\n%s", err, stderrOf(err))
	}
	objs := decode(t, out)
	checkKinds(t, objs, installKinds)
	ensureNamespaceFrom(t, objs, installNamespace)
	dryRunApply(t, objs)
	checkDeployment(t, objs, installNamespace, 1)
}

func TestHelmChartDefaults(t *testing.T) {
	const ns = "cto-helm"
	objs := decode(t, helmTemplate(t, "cloudflare-token-operator", ns))
	checkKinds(t, objs, map[string]int{
		"CustomResourceDefinition": 3, "ServiceAccount": 1, "Role": 1, "RoleBinding": 1,
		"ClusterRoleBinding": 2, "Service": 1, "Deployment": 1,
		"ValidatingAdmissionPolicy": 3, "ValidatingAdmissionPolicyBinding": 3,
	})
	checkClusterRole(t, objs, "cloudflare-token-operator-manager-role")
	ensureNamespace(t, ns, nil)
	dryRunApply(t, objs)
	dep := checkDeployment(t, objs, ns, 1)
	wantArgs(t, dep, "--leader-elect", "--operator-namespace="+ns, "--metrics-bind-address=:8443",
		"--zap-log-level=info", "--zap-encoder=json")
	// The release named like the project gives the object names of dist/install.yaml.
	names := func(objs []*unstructured.Unstructured) []string {
		var s []string
		for _, o := range objs {
			if o.GetKind() != "Namespace" {
				s = append(s, o.GetKind()+"/"+o.GetName())
			}
		}
		slices.Sort(s)
		return s
	}
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "dist", "install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	installNames, chartNames := names(decode(t, data)), names(objs)
	for _, n := range installNames {
		if !slices.Contains(chartNames, n) {
			t.Errorf("dist/install.yaml has %s, the chart (release cloudflare-token-operator) does not", n)
		}
	}
}

// Two replicas (leader election), the operator's options, extra args and the NetworkPolicy. The
// ServiceMonitor and PrometheusRule need the Prometheus Operator's CRDs, which this API server lacks: they are
// checked as rendered text (TestHelmChartMonitoring).
func TestHelmChartHA(t *testing.T) {
	const ns = "cto-helm-ha"
	objs := decode(t, helmTemplate(t, "cto", ns,
		"--set", "replicaCount=2",
		"--set", "networkPolicy.enable=true",
		"--set", "operator.namespace=cloudflare-credentials",
		"--set", "operator.cloudflareAPIURL=https://cloudflare.internal.example/client/v4",
		"--set", "operator.clusterName=prod-eu1",
		"--set", "operator.apiRequestsPer5m=600",
		"--set", "operator.driftInterval=5m",
		"--set", "operator.orphanGrace=1h",
		"--set", "operator.maxConcurrentReconciles=8",
		"--set", "kubeAPI.qps=50",
		"--set", "kubeAPI.burst=100",
		"--set", "leaderElection.leaseDuration=60s",
		"--set", "leaderElection.renewDeadline=40s",
		"--set", "leaderElection.retryPeriod=5s",
		"--set", "logging.level=debug",
		"--set", "logging.format=console",
		"--set", "operator.extraArgs={--enable-http2=false}",
		"--set", "image.repository=registry.example.com/cloudflare-token-operator",
		"--set", "image.tag=v0.1.0",
		"--set", "crds.keep=false",
	))
	checkKinds(t, objs, map[string]int{"NetworkPolicy": 1, "Deployment": 1, "CustomResourceDefinition": 3})
	ensureNamespace(t, ns, nil)
	dryRunApply(t, objs)
	dep := checkDeployment(t, objs, ns, 2)
	wantArgs(t, dep, "--leader-elect", "--operator-namespace=cloudflare-credentials",
		"--cloudflare-api-url=https://cloudflare.internal.example/client/v4", "--cluster-name=prod-eu1",
		"--api-requests-per-5m=600", "--zap-log-level=debug", "--drift-interval=5m", "--orphan-grace=1h",
		"--max-concurrent-reconciles=8", "--kube-api-qps=50", "--kube-api-burst=100",
		"--leader-election-lease-duration=60s", "--leader-election-renew-deadline=40s",
		"--leader-election-retry-period=5s", "--zap-encoder=console", "--enable-http2=false")
	if img := dep.Spec.Template.Spec.Containers[0].Image; img != "registry.example.com/cloudflare-token-operator:v0.1.0" {
		t.Errorf("image %q", img)
	}
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" && o.GetAnnotations()["helm.sh/resource-policy"] != "" {
			t.Errorf("crds.keep=false but CRD %s carries helm.sh/resource-policy", o.GetName())
		}
	}
}

// The ServiceMonitor and the PrometheusRule render, select the metrics Service, and the rule holds exactly
// config/prometheus/alerts.yaml's groups.
func TestHelmChartMonitoring(t *testing.T) {
	objs := decode(t, helmTemplate(t, "cloudflare-token-operator", installNamespace,
		"--set", "prometheus.serviceMonitor.enable=true", "--set", "prometheus.rules.enable=true"))
	checkKinds(t, objs, map[string]int{"ServiceMonitor": 1, "PrometheusRule": 1})
	var svc, sm, rule *unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "Service":
			svc = o
		case "ServiceMonitor":
			sm = o
		case "PrometheusRule":
			rule = o
		}
	}
	svcSel, _, _ := unstructured.NestedStringMap(svc.Object, "metadata", "labels")
	smSel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	for k, v := range smSel {
		if svcSel[k] != v {
			t.Errorf("ServiceMonitor selects %s=%s, the metrics Service's labels are %v", k, v, svcSel)
		}
	}
	alerts, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "config", "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := decode(t, alerts)[0]
	wantGroups, _, _ := unstructured.NestedSlice(want.Object, "spec", "groups")
	gotGroups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	if fmt.Sprint(wantGroups) != fmt.Sprint(gotGroups) || len(gotGroups) == 0 {
		t.Errorf("the chart's PrometheusRule differs from config/prometheus/alerts.yaml (make build-installer)")
	}
}

// The Pod Security check itself must be able to fail: a manager Pod without its securityContext is refused
// and its Deployment draws a warning, in the same namespace and by the same code.
func TestRestrictedRefusesAnInsecurePod(t *testing.T) {
	const ns = "cto-negative"
	ensureNamespace(t, ns, nil)
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "dist", "install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var dep *appsv1.Deployment
	for _, o := range decode(t, data) {
		if o.GetKind() == "Deployment" {
			dep = toDeployment(t, o)
		}
	}
	dep.Namespace = ns
	dep.Spec.Template.Spec.SecurityContext = nil
	dep.Spec.Template.Spec.Containers[0].SecurityContext = nil
	warnings, podErr := podSecurity(t, dep)
	if !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, restrictedViolation) }) {
		t.Errorf("an insecure Deployment drew no PodSecurity warning: %q", warnings)
	}
	if podErr == nil || !strings.Contains(podErr.Error(), restrictedViolation) {
		t.Errorf("an insecure Pod was not refused by PodSecurity: %v", podErr)
	}
}

// helmTemplate runs bin/helm template on dist/chart.
func helmTemplate(t *testing.T, release, namespace string, args ...string) []byte {
	t.Helper()
	out, err := helm(t, append([]string{"template", release, chartDir(), "--namespace", namespace}, args...)...)
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderrOf(err))
	}
	return out
}

func chartDir() string { return filepath.Join(testutil.RepoRoot(), "dist", "chart") }

// helm runs bin/helm (or $HELM) with a throw-away cache and configuration.
func helm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	bin := os.Getenv("HELM")
	if bin == "" {
		bin = filepath.Join(testutil.RepoRoot(), "bin", "helm")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm not found at %s: run `make helm`: %v", bin, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(),
		"HELM_DATA_HOME="+t.TempDir())
	return cmd.Output()
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// decode splits a multi-document YAML stream into objects, dropping empty documents.
func decode(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("decoding YAML: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	if len(objs) == 0 {
		t.Fatal("no objects")
	}
	return objs
}

func checkKinds(t *testing.T, objs []*unstructured.Unstructured, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	for _, o := range objs {
		got[o.GetKind()]++
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%d objects of kind %s, want %d (all: %v)", got[k], k, n, got)
		}
	}
}

// checkClusterRole finds the manager's ClusterRole and checks it equals config/rbac/role.yaml's rules.
func checkClusterRole(t *testing.T, objs []*unstructured.Unstructured, name string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := unstructured.NestedSlice(decode(t, data)[0].Object, "rules")
	for _, o := range objs {
		if o.GetKind() == "ClusterRole" && o.GetName() == name {
			got, _, _ := unstructured.NestedSlice(o.Object, "rules")
			if fmt.Sprint(got) != fmt.Sprint(want) || len(got) == 0 {
				t.Errorf("ClusterRole %s's rules differ from config/rbac/role.yaml (make manifests build-installer)", name)
			}
			return
		}
	}
	t.Errorf("no ClusterRole %s", name)
}

// ensureNamespaceFrom dry-runs the manifests' Namespace, checks it enforces the restricted standard itself,
// and creates it for real (so that namespaced objects can be dry-run in it), with the warn labels added.
func ensureNamespaceFrom(t *testing.T, objs []*unstructured.Unstructured, name string) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != "Namespace" {
			continue
		}
		if o.GetName() != name {
			t.Fatalf("Namespace %s, want %s", o.GetName(), name)
		}
		if got := o.GetLabels()["pod-security.kubernetes.io/enforce"]; got != "restricted" {
			t.Errorf("Namespace %s: pod-security.kubernetes.io/enforce=%q, want restricted", name, got)
		}
		dryRunApply(t, []*unstructured.Unstructured{o})
		ensureNamespace(t, name, o.GetLabels())
		return
	}
	t.Fatalf("no Namespace %s", name)
}

// ensureNamespace creates (or updates) a namespace with labels plus the restricted Pod Security labels.
func ensureNamespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	all := map[string]any{}
	for k, v := range labels {
		all[k] = v
	}
	for k, v := range psaLabels {
		all[k] = v
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name, "labels": all},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := k8s.Apply(ctx, client.ApplyConfigurationFromUnstructured(ns), client.FieldOwner(fieldManager+"-ns"),
		client.ForceOwnership); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// dryRunApply server-side applies every object with dryRun=All, as `kubectl apply --server-side
// --dry-run=server` does: the API server validates each against its schema (unknown fields are errors in
// server-side apply) and runs admission, but stores nothing. Namespaces are left out once they exist.
func dryRunApply(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, o := range objs {
		err := k8s.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
			client.FieldOwner(fieldManager), client.ForceOwnership, client.DryRunAll)
		if err != nil {
			t.Errorf("server-side dry run of %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}

func toDeployment(t *testing.T, o *unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	dep := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, dep, true); err != nil {
		t.Fatalf("Deployment %s: %v", o.GetName(), err)
	}
	return dep
}

// checkDeployment finds the one Deployment, checks it lives in ns with the given replicas and the
// restricted securityContext, requests and limits, then proves the Pod Security part on the API server.
func checkDeployment(t *testing.T, objs []*unstructured.Unstructured, ns string, replicas int32) *appsv1.Deployment {
	t.Helper()
	var dep *appsv1.Deployment
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			dep = toDeployment(t, o)
		}
	}
	if dep == nil {
		t.Fatal("no Deployment")
	}
	if dep.Namespace != ns {
		t.Errorf("Deployment in namespace %q, want %q", dep.Namespace, ns)
	}
	if got := ptr.Deref(dep.Spec.Replicas, 1); got != replicas {
		t.Errorf("replicas %d, want %d", got, replicas)
	}
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(dep.Spec.Template.Spec.Containers))
	}
	pod, c := dep.Spec.Template.Spec.SecurityContext, dep.Spec.Template.Spec.Containers[0]
	switch {
	case pod == nil || !ptr.Deref(pod.RunAsNonRoot, false) || ptr.Deref(pod.RunAsUser, 0) != 65532:
		t.Errorf("pod securityContext %+v: want runAsNonRoot and runAsUser 65532", pod)
	case pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Errorf("pod seccompProfile %+v, want RuntimeDefault", pod.SeccompProfile)
	}
	sc := c.SecurityContext
	if sc == nil || !ptr.Deref(sc.ReadOnlyRootFilesystem, false) || ptr.Deref(sc.AllowPrivilegeEscalation, true) ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container securityContext %+v: want readOnlyRootFilesystem, no privilege escalation, drop ALL", sc)
	}
	checkGoMemLimit(t, c)
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			t.Errorf("no %s limit", r)
		}
	}
	warnings, err := podSecurity(t, dep)
	for _, w := range warnings {
		if strings.Contains(w, restrictedViolation) {
			t.Errorf("Deployment %s/%s draws a Pod Security warning: %s", dep.Namespace, dep.Name, w)
		}
	}
	if err != nil {
		t.Errorf("a Pod from Deployment %s/%s's template is refused in a restricted namespace: %v",
			dep.Namespace, dep.Name, err)
	}
	return dep
}

// podSecurity dry-runs dep in its (restricted) namespace, collecting the warnings (the PodSecurity plugin
// only warns about Deployments), then dry-run creates a Pod from its template, which the plugin enforces on.
func podSecurity(t *testing.T, dep *appsv1.Deployment) (warnings []string, podErr error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wctx, sink := withWarnings(ctx)
	d := dep.DeepCopy()
	d.ResourceVersion = ""
	if err := k8s.Create(wctx, d, client.DryRunAll, client.FieldOwner(fieldManager)); err != nil {
		t.Errorf("server-side dry run of Deployment %s/%s: %v", dep.Namespace, dep.Name, err)
	}
	pod := &corev1.Pod{
		ObjectMeta: dep.Spec.Template.ObjectMeta,
		Spec:       dep.Spec.Template.Spec,
	}
	pod.Name, pod.Namespace = dep.Name+"-pod", dep.Namespace
	pod.Spec.NodeName = ""
	podErr = k8s.Create(ctx, pod, client.DryRunAll, client.FieldOwner(fieldManager))
	return sink.all(), podErr
}

// checkGoMemLimit: GOMEMLIMIT comes from the manager container's own memory limit (downward API), so the Go
// runtime collects garbage harder before the kernel OOM-kills it.
func checkGoMemLimit(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, e := range c.Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		if e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil ||
			e.ValueFrom.ResourceFieldRef.Resource != "limits.memory" || e.ValueFrom.ResourceFieldRef.ContainerName != c.Name {
			t.Errorf("GOMEMLIMIT %+v: want a resourceFieldRef to container %s's limits.memory", e, c.Name)
		}
		return
	}
	t.Errorf("container %s has no GOMEMLIMIT environment variable", c.Name)
}

func wantArgs(t *testing.T, dep *appsv1.Deployment, args ...string) {
	t.Helper()
	got := dep.Spec.Template.Spec.Containers[0].Args
	for _, a := range args {
		if !slices.Contains(got, a) {
			t.Errorf("manager args %q lack %q", got, a)
		}
	}
}
