package metrics

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"
)

// prometheusRule is the shape of a monitoring.coreos.com/v1 PrometheusRule, as far as alerts go. Parsing is
// strict: a misspelt or misplaced field fails the test, as the CRD's schema would refuse it.
type prometheusRule struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace,omitempty"`
		Labels    map[string]string `json:"labels,omitempty"`
	} `json:"metadata"`
	Spec struct {
		Groups []ruleGroup `json:"groups"`
	} `json:"spec"`
}

type ruleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Rules    []rule `json:"rules"`
}

type rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// promDuration is Prometheus's duration syntax (the CRD's pattern for "for" and "interval").
var promDuration = regexp.MustCompile(`^((\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?|0)$`)

var metricName = regexp.MustCompile(`cloudflare_token_operator_[a-z_]+`)

func loadAlerts(t *testing.T) prometheusRule {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pr prometheusRule
	if err := yaml.UnmarshalStrict(raw, &pr); err != nil {
		t.Fatalf("alerts.yaml is not a PrometheusRule: %v", err)
	}
	return pr
}

func TestAlertsAreAValidPrometheusRule(t *testing.T) {
	pr := loadAlerts(t)
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" || pr.Metadata.Name == "" {
		t.Fatalf("apiVersion %q kind %q name %q", pr.APIVersion, pr.Kind, pr.Metadata.Name)
	}
	if len(pr.Spec.Groups) == 0 {
		t.Fatal("no rule groups")
	}
	groups := map[string]bool{}
	alerts := map[string]bool{}
	for _, g := range pr.Spec.Groups {
		if g.Name == "" || groups[g.Name] {
			t.Errorf("group name %q empty or repeated", g.Name)
		}
		groups[g.Name] = true
		if len(g.Rules) == 0 {
			t.Errorf("group %s has no rules", g.Name)
		}
		for _, r := range g.Rules {
			if (r.Alert == "") == (r.Record == "") {
				t.Errorf("group %s: a rule must have exactly one of alert and record: %+v", g.Name, r)
			}
			if strings.TrimSpace(r.Expr) == "" {
				t.Errorf("%s: empty expr", r.Alert)
			}
			if !balanced(r.Expr) {
				t.Errorf("%s: unbalanced brackets in %q", r.Alert, r.Expr)
			}
			if r.For != "" && !promDuration.MatchString(r.For) {
				t.Errorf("%s: for %q is not a Prometheus duration", r.Alert, r.For)
			}
			if r.Alert != "" {
				if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
					t.Errorf("%s: needs labels.severity and annotations summary and description", r.Alert)
				}
				alerts[r.Alert] = true
			}
		}
	}
	// The four alerts.
	for _, a := range []string{"CloudflareTokenExpiringWithoutRotation", "CloudflareIssuerCredentialExpiring",
		"CloudflareAPIBudgetExhausted", "CloudflareTokenRevocationsFailing"} {
		if !alerts[a] {
			t.Errorf("alert %s is missing", a)
		}
	}
}

// TestAlertsNameOnlyExportedMetrics gathers a registry on which every Observer and Metrics method has been
// called and checks each metric an expression names against it.
func TestAlertsNameOnlyExportedMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	exercise(r, time.Now())
	exported := exportedNames(t, reg)
	for _, g := range loadAlerts(t).Spec.Groups {
		for _, rule := range g.Rules {
			names := metricName.FindAllString(rule.Expr, -1)
			if len(names) == 0 {
				t.Errorf("%s: the expression names no operator metric: %q", rule.Alert, rule.Expr)
			}
			for _, n := range names {
				base := n
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					if b, ok := strings.CutSuffix(n, suffix); ok && exported[b] {
						base = b
					}
				}
				if !exported[base] {
					t.Errorf("%s: %s is not a metric the operator exports", rule.Alert, n)
				}
			}
			for _, lbl := range labelMatchers.FindAllStringSubmatch(rule.Expr, -1) {
				if !knownLabels[lbl[1]] {
					t.Errorf("%s: label %q is not one the operator's metrics carry", rule.Alert, lbl[1])
				}
			}
		}
	}
}

// labelMatchers finds label names in {label="..."} matchers and in by (...) / on (...) clauses.
var labelMatchers = regexp.MustCompile(`[{,(]\s*([a-z_]+)\s*(?:=~|!~|!=|=|[,)])`)

var knownLabels = map[string]bool{"namespace": true, "name": true, "issuer": true, "reason": true, "why": true,
	"endpoint": true, "status": true, "credential_hash": true, "le": true}

func balanced(s string) bool {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	for _, c := range s {
		switch c {
		case '(', '[', '{':
			stack = append(stack, c)
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0
}
