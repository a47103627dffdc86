package packaging

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

// values.schema.json refuses a value of the wrong type, outside its range or misspelt, in helm template and
// helm lint alike, naming the value.
func TestHelmChartSchemaRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"--set-string", "replicaCount=two"}, "replicaCount"},
		{[]string{"--set", "logging.level=verbose"}, "logging/level"},
		{[]string{"--set", "logging.format=text"}, "logging/format"},
		{[]string{"--set", "operator.driftInterval=10 minutes"}, "operator/driftInterval"},
		{[]string{"--set", "operator.maxConcurrentReconciles=-1"}, "operator/maxConcurrentReconciles"},
		{[]string{"--set", "kubeAPI.qps=-5"}, "kubeAPI/qps"},
		{[]string{"--set", "replicas=2"}, "replicas"},
		{[]string{"--set", "podDisruptionBudget.minAvailable=half"}, "podDisruptionBudget/minAvailable"},
		{[]string{"--set", "networkPolicy.egress.cloudflareCIDRs={api.cloudflare.com}"}, "networkPolicy/egress/cloudflareCIDRs"},
		{[]string{"--set", "metrics.port=99999"}, "metrics/port"},
		{[]string{"--set-string", "podLabels.team=x", "--set", "podLabels.tier=3"}, "podLabels/tier"},
	} {
		t.Run(strings.Join(tc.set, " "), func(t *testing.T) {
			for _, cmd := range [][]string{{"template", "cto", chartDir()}, {"lint", "--strict", chartDir()}} {
				out, err := helm(t, append(cmd, tc.set...)...)
				if err == nil {
					t.Errorf("helm %s %v succeeded:\n%.300s", cmd[0], tc.set, out)
					continue
				}
				if msg := stderrOf(err) + string(out); !strings.Contains(msg, tc.want) {
					t.Errorf("helm %s %v failed without naming %s:\n%s", cmd[0], tc.set, tc.want, msg)
				}
			}
		})
	}
}

// A PodDisruptionBudget exists with two replicas, selecting the manager's Pods, and not with one (where it
// would block every node drain).
func TestHelmChartPodDisruptionBudget(t *testing.T) {
	if pdbs := kindOf(decode(t, helmTemplate(t, "cto", "cto-pdb")), "PodDisruptionBudget"); len(pdbs) != 0 {
		t.Errorf("one replica: %d PodDisruptionBudgets, want none", len(pdbs))
	}
	const ns = "cto-pdb"
	objs := decode(t, helmTemplate(t, "cto", ns, "--set", "replicaCount=2"))
	pdbs := kindOf(objs, "PodDisruptionBudget")
	if len(pdbs) != 1 {
		t.Fatalf("two replicas: %d PodDisruptionBudgets, want 1", len(pdbs))
	}
	if v, _, _ := unstructured.NestedFieldNoCopy(pdbs[0].Object, "spec", "minAvailable"); fmt.Sprint(v) != "1" {
		t.Errorf("minAvailable %v, want 1", v)
	}
	sel, _, _ := unstructured.NestedStringMap(pdbs[0].Object, "spec", "selector", "matchLabels")
	dep := toDeployment(t, kindOf(objs, "Deployment")[0])
	if len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("the PodDisruptionBudget selects %v, the manager's Pods carry %v", sel, dep.Spec.Template.Labels)
	}
	ensureNamespace(t, ns, nil)
	dryRunApply(t, pdbs)
}

// Scheduling and Pod metadata values reach the Pod, which still passes the restricted Pod Security Standard.
func TestHelmChartPodOptions(t *testing.T) {
	const ns, priority = "cto-pod-options", "cto-test-priority"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: priority}, Value: 1000}
	if err := k8s.Create(ctx, pc); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating PriorityClass %s: %v", priority, err)
	}
	objs := decode(t, helmTemplate(t, "cto", ns,
		"--set", "priorityClassName="+priority,
		"--set", "podAnnotations.example\\.com/owner=platform",
		"--set", "podLabels.team=platform",
		"--set", "topologySpreadConstraints[0].maxSkew=1",
		"--set", "topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
		"--set", "topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway",
		"--set", "extraVolumes[0].name=ca",
		"--set", "extraVolumes[0].configMap.name=corporate-ca",
		"--set", "extraVolumeMounts[0].name=ca",
		"--set", "extraVolumeMounts[0].mountPath=/etc/ssl/corporate",
		"--set", "extraVolumeMounts[0].readOnly=true",
		"--set", "operator.extraEnv[0].name=SSL_CERT_DIR",
		"--set", "operator.extraEnv[0].value=/etc/ssl/corporate",
	))
	ensureNamespace(t, ns, nil)
	dryRunApply(t, objs)
	dep := checkDeployment(t, objs, ns, 1)
	pod := dep.Spec.Template
	if pod.Spec.PriorityClassName != priority {
		t.Errorf("priorityClassName %q", pod.Spec.PriorityClassName)
	}
	if pod.Annotations["example.com/owner"] != "platform" || pod.Labels["team"] != "platform" {
		t.Errorf("pod annotations %v labels %v", pod.Annotations, pod.Labels)
	}
	if tsc := pod.Spec.TopologySpreadConstraints; len(tsc) != 1 || tsc[0].LabelSelector == nil ||
		!labels.SelectorFromSet(tsc[0].LabelSelector.MatchLabels).Matches(labels.Set(pod.Labels)) ||
		tsc[0].TopologyKey != "topology.kubernetes.io/zone" {
		t.Errorf("topologySpreadConstraints %+v: want the zone constraint selecting the manager's Pods", tsc)
	}
	c := pod.Spec.Containers[0]
	if len(pod.Spec.Volumes) != 1 || pod.Spec.Volumes[0].ConfigMap == nil || len(c.VolumeMounts) != 1 ||
		c.VolumeMounts[0].MountPath != "/etc/ssl/corporate" {
		t.Errorf("volumes %+v mounts %+v", pod.Spec.Volumes, c.VolumeMounts)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "SSL_CERT_DIR" }) {
		t.Errorf("env %+v lacks SSL_CERT_DIR", c.Env)
	}
}

// The helper roles aggregate into the API server's own admin, edit and view ClusterRoles, decided by those
// roles' aggregationRule as the API server bootstraps it: view gets read access to CloudflareTokens and
// TokenIssuers and nothing else (no Secret, no write), edit and admin get the writes, and no built-in role
// picks up ClusterTokenIssuers.
func TestHelperRolesAggregateIntoBuiltInRoles(t *testing.T) {
	for _, src := range []struct {
		name string
		objs []*unstructured.Unstructured
	}{
		{"chart", decode(t, helmTemplate(t, "cloudflare-token-operator", installNamespace))},
		{"dist/install.yaml", decode(t, readRepoFile(t, "dist", "install.yaml"))},
	} {
		t.Run(src.name, func(t *testing.T) {
			objs := kindOf(src.objs, "ClusterRole")
			roles := make([]rbacv1.ClusterRole, 0, len(objs))
			for _, o := range objs {
				var r rbacv1.ClusterRole
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &r); err != nil {
					t.Fatal(err)
				}
				roles = append(roles, r)
			}
			view := aggregated(t, "view", roles)
			for _, res := range []string{"cloudflaretokens", "tokenissuers"} {
				for _, v := range []string{"get", "list", "watch"} {
					if !allows(view, res, v) {
						t.Errorf("view does not %s %s", v, res)
					}
				}
			}
			for _, r := range view {
				if slices.Contains(r.Resources, "secrets") || slices.Contains(r.Resources, "clustertokenissuers") {
					t.Errorf("view aggregates %v", r)
				}
				for _, v := range r.Verbs {
					if v != "get" && v != "list" && v != "watch" {
						t.Errorf("view aggregates the write %s on %v", v, r.Resources)
					}
				}
			}
			edit := aggregated(t, "edit", roles)
			for _, v := range []string{"create", "update", "patch", "delete"} {
				if !allows(edit, "cloudflaretokens", v) || !allows(edit, "tokenissuers", v) {
					t.Errorf("edit does not %s CloudflareTokens and TokenIssuers", v)
				}
			}
			if !allows(aggregated(t, "admin", roles), "cloudflaretokens", "*") {
				t.Error("admin does not get every verb on cloudflaretokens")
			}
			for _, builtin := range []string{"view", "edit", "admin"} {
				if allows(aggregated(t, builtin, roles), "clustertokenissuers", "get") {
					t.Errorf("%s aggregates a ClusterTokenIssuer role", builtin)
				}
			}
		})
	}
}

// aggregated returns the rules of those roles that the built-in ClusterRole name's aggregationRule selects.
func aggregated(t *testing.T, name string, roles []rbacv1.ClusterRole) []rbacv1.PolicyRule {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var builtin rbacv1.ClusterRole
	if err := k8s.Get(ctx, client.ObjectKey{Name: name}, &builtin); err != nil {
		t.Fatalf("the API server's ClusterRole %s: %v", name, err)
	}
	if builtin.AggregationRule == nil {
		t.Fatalf("ClusterRole %s has no aggregationRule", name)
	}
	var rules []rbacv1.PolicyRule
	for _, r := range roles {
		for _, ls := range builtin.AggregationRule.ClusterRoleSelectors {
			sel, err := metav1.LabelSelectorAsSelector(&ls)
			if err != nil {
				t.Fatal(err)
			}
			if sel.Matches(labels.Set(r.Labels)) {
				rules = append(rules, r.Rules...)
				break
			}
		}
	}
	return rules
}

func allows(rules []rbacv1.PolicyRule, resource, verb string) bool {
	return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
		return slices.Contains(r.APIGroups, "cloudflare.tokenoperator.dev") && slices.Contains(r.Resources, resource) &&
			(slices.Contains(r.Verbs, verb) || slices.Contains(r.Verbs, "*"))
	})
}

// The egress NetworkPolicy opens HTTPS to the API server and Cloudflare's ranges and DNS, nothing else.
func TestHelmChartEgressNetworkPolicy(t *testing.T) {
	const ns = "cto-egress"
	objs := decode(t, helmTemplate(t, "cto", ns, "--set", "networkPolicy.egress.enable=true",
		"--set", "networkPolicy.egress.apiServerCIDRs={10.96.0.1/32,192.0.2.10/32}"))
	var np *unstructured.Unstructured
	for _, o := range kindOf(objs, "NetworkPolicy") {
		if types, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "policyTypes"); slices.Contains(types, "Egress") {
			np = o
		}
	}
	if np == nil {
		t.Fatal("no egress NetworkPolicy")
	}
	ensureNamespace(t, ns, nil)
	dryRunApply(t, []*unstructured.Unstructured{np})
	rules, _, _ := unstructured.NestedSlice(np.Object, "spec", "egress")
	var got []string
	for _, r := range rules {
		rule := r.(map[string]any)
		ports, _, _ := unstructured.NestedSlice(rule, "ports")
		peers, _, _ := unstructured.NestedSlice(rule, "to")
		var cidrs []string
		for _, p := range peers {
			c, _, _ := unstructured.NestedString(p.(map[string]any), "ipBlock", "cidr")
			cidrs = append(cidrs, c)
		}
		for _, p := range ports {
			pm := p.(map[string]any)
			got = append(got, fmt.Sprintf("%v/%v", pm["protocol"], pm["port"]))
		}
		if len(ports) == 0 {
			t.Errorf("an egress rule without ports opens every port: %v", rule)
		}
		switch {
		case slices.Contains(cidrs, "10.96.0.1/32"):
			if len(cidrs) != 2 {
				t.Errorf("API server rule reaches %v", cidrs)
			}
		case len(cidrs) > 0 && !slices.Contains(cidrs, "104.16.0.0/13"):
			t.Errorf("the Cloudflare rule lacks 104.16.0.0/13 (api.cloudflare.com): %v", cidrs)
		}
	}
	slices.Sort(got)
	if want := []string{"TCP/443", "TCP/443", "TCP/53", "TCP/6443", "UDP/53"}; !slices.Equal(got, want) {
		t.Errorf("egress ports %v, want %v", got, want)
	}
}

// With metrics.certSecret the manager serves that certificate and the ServiceMonitor verifies it; without,
// the documented fallback skips verification; an explicit tlsConfig wins over both.
func TestHelmChartServiceMonitorTLS(t *testing.T) {
	tlsOf := func(args ...string) (map[string]any, []*unstructured.Unstructured) {
		objs := decode(t, helmTemplate(t, "cloudflare-token-operator", installNamespace,
			append([]string{"--set", "prometheus.serviceMonitor.enable=true"}, args...)...))
		eps, _, _ := unstructured.NestedSlice(kindOf(objs, "ServiceMonitor")[0].Object, "spec", "endpoints")
		tls, _, _ := unstructured.NestedMap(eps[0].(map[string]any), "tlsConfig")
		return tls, objs
	}
	if tls, _ := tlsOf(); tls["insecureSkipVerify"] != true {
		t.Errorf("without a certificate: tlsConfig %v, want the insecureSkipVerify fallback", tls)
	}
	tls, objs := tlsOf("--set", "metrics.certSecret=metrics-server-cert")
	secret, _, _ := unstructured.NestedString(tls, "ca", "secret", "name")
	server, _, _ := unstructured.NestedString(tls, "serverName")
	if tls["insecureSkipVerify"] != false || secret != "metrics-server-cert" ||
		server != "cloudflare-token-operator-controller-manager-metrics-service."+installNamespace+".svc" {
		t.Errorf("with metrics.certSecret: tlsConfig %v, want the CA of metrics-server-cert and the Service's name", tls)
	}
	dep := toDeployment(t, kindOf(objs, "Deployment")[0])
	c := dep.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--metrics-cert-path=/tmp/k8s-metrics-server/metrics-certs") ||
		len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/tmp/k8s-metrics-server/metrics-certs" ||
		len(dep.Spec.Template.Spec.Volumes) != 1 || dep.Spec.Template.Spec.Volumes[0].Secret == nil ||
		dep.Spec.Template.Spec.Volumes[0].Secret.SecretName != "metrics-server-cert" {
		t.Errorf("the manager does not serve metrics-server-cert: args %q mounts %+v volumes %+v", c.Args,
			c.VolumeMounts, dep.Spec.Template.Spec.Volumes)
	}
	if tls, _ := tlsOf("--set", "metrics.certSecret=x", "--set", "prometheus.serviceMonitor.tlsConfig.serverName=m.example"); tls["serverName"] != "m.example" || tls["ca"] != nil {
		t.Errorf("an explicit tlsConfig: %v, want it alone", tls)
	}
}

func kindOf(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func readRepoFile(t *testing.T, path ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(append([]string{testutil.RepoRoot()}, path...)...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// grafana.dashboards.enable ships config/grafana's dashboard, unchanged, in a ConfigMap Grafana's sidecar
// selects by its grafana_dashboard label.
func TestHelmChartGrafanaDashboard(t *testing.T) {
	if cms := kindOf(decode(t, helmTemplate(t, "cto", "cto-grafana")), "ConfigMap"); len(cms) != 0 {
		t.Errorf("grafana.dashboards.enable=false renders %d ConfigMaps", len(cms))
	}
	cms := kindOf(decode(t, helmTemplate(t, "cto", "cto-grafana", "--set", "grafana.dashboards.enable=true",
		"--set", "grafana.dashboards.namespace=monitoring")), "ConfigMap")
	if len(cms) != 1 {
		t.Fatalf("%d ConfigMaps, want the dashboard's", len(cms))
	}
	cm := cms[0]
	if cm.GetLabels()["grafana_dashboard"] != "1" || cm.GetNamespace() != "monitoring" {
		t.Errorf("ConfigMap %s/%s labels %v: want grafana_dashboard=1 in monitoring", cm.GetNamespace(), cm.GetName(), cm.GetLabels())
	}
	got, _, _ := unstructured.NestedString(cm.Object, "data", "cloudflare-token-operator.json")
	want := strings.TrimSpace(string(readRepoFile(t, "config", "grafana", "cloudflare-token-operator.json")))
	if got != want {
		t.Errorf("the ConfigMap's dashboard differs from config/grafana/cloudflare-token-operator.json (make build-installer)")
	}
}
