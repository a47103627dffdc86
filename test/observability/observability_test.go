package observability

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var root = filepath.Join("..", "..")

func catalogue(t *testing.T) Catalogue {
	t.Helper()
	cat, err := OperatorMetrics()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// The checker itself must fail on what it is there to catch.
func TestCheckerRefusesUnknownMetricsAndLabels(t *testing.T) {
	cat := catalogue(t)
	for expr, want := range map[string]string{
		`cloudflare_token_operator_token_readyy`:                        "not a metric",
		`cloudflare_token_operator_token_ready{state="True"}`:           `no label "state"`,
		`sum by (zone) (cloudflare_token_operator_tokens_minted_total)`: `label "zone"`,
		`a / on (nope) b`: "not a metric",
		`cloudflare_token_operator_issuer_tokens_held / on (owner) cloudflare_token_operator_issuer_token_quota`: `label "owner"`,
		`sum(rate(cloudflare_token_operator_cloudflare_requests_total[5m]`:                                       "not PromQL",
	} {
		if _, problems := cat.Check(expr); !strings.Contains(strings.Join(problems, "; "), want) {
			t.Errorf("Check(%q) = %q, want a problem containing %q", expr, problems, want)
		}
	}
	out, problems := cat.Check(`max by (issuer) (cloudflare_token_operator_issuer_ready{condition="False"}) == 1`)
	if len(problems) != 0 {
		t.Errorf("a good expression: %q", problems)
	}
	if p := CheckTemplate("{{ $labels.namespace }}/{{ $labels.issuer }}", out); len(p) != 1 || !strings.Contains(p[0], "namespace") {
		t.Errorf("a template naming a label the result lacks: %q", p)
	}
	if p := CheckLegend("{{issuer}} {{name}}", out); len(p) != 1 || !strings.Contains(p[0], "name") {
		t.Errorf("a legend naming a label the result lacks: %q", p)
	}
}

type alertRules struct {
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Record      string            `json:"record"`
				Expr        string            `json:"expr"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

func TestAlertExpressions(t *testing.T) {
	cat := catalogue(t)
	raw, err := os.ReadFile(filepath.Join(root, "config", "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules alertRules
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range rules.Spec.Groups {
		for _, r := range g.Rules {
			n++
			out, problems := cat.Check(r.Expr)
			for _, text := range r.Annotations {
				problems = append(problems, CheckTemplate(text, out)...)
			}
			for _, p := range problems {
				t.Errorf("alert %s: %s\n%s", r.Alert+r.Record, p, r.Expr)
			}
		}
	}
	if n == 0 {
		t.Fatal("no rules in config/prometheus/alerts.yaml")
	}
}

// grafanaVariables are replaced before parsing, as Grafana does before it sends a query.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
	"$namespace", ".*", "${namespace}", ".*")

var labelValues = regexp.MustCompile(`^label_values\(\s*(.+?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	} `json:"targets"`
}

type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

func TestDashboardExpressions(t *testing.T) {
	cat := catalogue(t)
	files, err := filepath.Glob(filepath.Join(root, "config", "grafana", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboard in config/grafana (%v)", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		n := 0
		var walk func(ps []panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				walk(p.Panels)
				for _, tg := range p.Targets {
					n++
					out, problems := cat.Check(grafanaVariables.Replace(tg.Expr))
					problems = append(problems, CheckLegend(tg.LegendFormat, out)...)
					for _, pr := range problems {
						t.Errorf("%s, panel %q: %s\n%s", filepath.Base(f), p.Title, pr, tg.Expr)
					}
				}
			}
		}
		walk(d.Panels)
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			m := labelValues.FindStringSubmatch(v.Definition)
			if m == nil {
				t.Errorf("%s: variable %s: %q is not label_values(<selector>, <label>)", filepath.Base(f), v.Name, v.Definition)
				continue
			}
			if _, problems := cat.Check(m[1] + `{` + m[2] + `=""}`); len(problems) > 0 {
				t.Errorf("%s: variable %s: %q", filepath.Base(f), v.Name, problems)
			}
		}
		if n == 0 {
			t.Errorf("%s has no query", f)
		}
	}
}
