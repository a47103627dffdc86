package metrics

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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
	// The issues' alerts.
	for _, a := range []string{"CloudflareTokenExpiringWithoutRotation", "CloudflareIssuerCredentialExpiring",
		"CloudflareAPIBudgetExhausted", "CloudflareTokenRevocationsFailing", "CloudflareTokenOperatorAbsent",
		"CloudflareTokenNotReady", "CloudflareIssuerNotReady"} {
		if !alerts[a] {
			t.Errorf("alert %s is missing", a)
		}
	}
}

// runbookPrefix is where every alert's runbook_url points: a section of docs/troubleshooting.md.
const runbookPrefix = "https://github.com/tokenoperator/cloudflare-token-operator/blob/main/docs/troubleshooting.md#"

// Every alert links a section of docs/troubleshooting.md that exists, by the anchor GitHub gives its heading.
func TestEveryAlertHasARunbook(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if heading, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " "); ok && strings.HasPrefix(line, "#") {
			anchors[githubAnchor(heading)] = true
		}
	}
	for _, g := range loadAlerts(t).Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			url := r.Annotations["runbook_url"]
			anchor, ok := strings.CutPrefix(url, runbookPrefix)
			switch {
			case !ok:
				t.Errorf("%s: runbook_url %q is not a section of docs/troubleshooting.md (%s...)", r.Alert, url, runbookPrefix)
			case !anchors[anchor]:
				t.Errorf("%s: runbook_url %q: docs/troubleshooting.md has no heading with anchor #%s", r.Alert, url, anchor)
			}
		}
	}
}

// githubAnchor is the id GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to dashes.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case c == ' ':
			b.WriteRune('-')
		case c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'):
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Which metrics and labels each expression names is checked with Prometheus' own PromQL parser, in
// test/observability (a separate module, so that the operator's go.mod stays free of Prometheus' server).

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
