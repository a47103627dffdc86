package observability

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Check parses expr with Prometheus' parser and returns what is wrong with it against the catalogue: a
// metric that is not exported, a label its metrics do not carry (in a matcher, a by/without clause or an
// on/ignoring clause). It also returns the labels the expression's result carries, for annotations and
// legends.
func (c Catalogue) Check(expr string) (out map[string]bool, problems []string) {
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, []string{fmt.Sprintf("not PromQL: %v", err)}
	}
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			problems = append(problems, c.checkSelector(n)...)
		case *parser.AggregateExpr:
			problems = append(problems, unknownLabels("by/without", n.Grouping, c.inputLabels(n.Expr))...)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil && n.LHS.Type() == parser.ValueTypeVector && n.RHS.Type() == parser.ValueTypeVector {
				both := union(c.inputLabels(n.LHS), c.inputLabels(n.RHS))
				problems = append(problems, unknownLabels("on/ignoring", n.VectorMatching.MatchingLabels, both)...)
				problems = append(problems, unknownLabels("group_left/right", n.VectorMatching.Include, both)...)
			}
		}
		return nil
	})
	return c.outputLabels(node), problems
}

func (c Catalogue) checkSelector(vs *parser.VectorSelector) []string {
	name := vs.Name
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel {
			name = m.Value
		}
	}
	known, ok := c.Lookup(name)
	if !ok {
		return []string{fmt.Sprintf("%s is not a metric the operator exports", name)}
	}
	var problems []string
	for _, m := range vs.LabelMatchers {
		if m.Name != model.MetricNameLabel && !known[m.Name] {
			problems = append(problems, fmt.Sprintf("%s has no label %q (its labels: %s)", name, m.Name, keys(known)))
		}
	}
	return problems
}

// inputLabels is every label of every metric that node reads.
func (c Catalogue) inputLabels(node parser.Node) map[string]bool {
	all := map[string]bool{}
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			l, _ := c.Lookup(vs.Name)
			for k := range l {
				all[k] = true
			}
		}
		return nil
	})
	return all
}

// outputLabels is the labels node's result series carry, as far as a template may rely on them.
func (c Catalogue) outputLabels(node parser.Node) map[string]bool {
	switch n := node.(type) {
	case *parser.VectorSelector:
		l, _ := c.Lookup(n.Name)
		return l
	case *parser.MatrixSelector:
		return c.outputLabels(n.VectorSelector)
	case *parser.SubqueryExpr:
		return c.outputLabels(n.Expr)
	case *parser.ParenExpr:
		return c.outputLabels(n.Expr)
	case *parser.StepInvariantExpr:
		return c.outputLabels(n.Expr)
	case *parser.UnaryExpr:
		return c.outputLabels(n.Expr)
	case *parser.AggregateExpr:
		return aggregateLabels(n, c.outputLabels(n.Expr))
	case *parser.Call:
		return c.callLabels(n)
	case *parser.BinaryExpr:
		return c.binaryLabels(n)
	}
	return map[string]bool{}
}

func aggregateLabels(n *parser.AggregateExpr, in map[string]bool) map[string]bool {
	switch {
	case n.Op == parser.TOPK || n.Op == parser.BOTTOMK:
		return in
	case n.Without:
		out := map[string]bool{}
		for k := range in {
			if !slices.Contains(n.Grouping, k) {
				out[k] = true
			}
		}
		return out
	}
	out := map[string]bool{}
	for _, g := range n.Grouping {
		out[g] = true
	}
	return out
}

func (c Catalogue) callLabels(n *parser.Call) map[string]bool {
	switch n.Func.Name {
	case "absent", "absent_over_time":
		// absent() keeps the equality matchers of its selector as labels.
		out := map[string]bool{}
		parser.Inspect(n, func(x parser.Node, _ []parser.Node) error {
			if vs, ok := x.(*parser.VectorSelector); ok {
				for _, m := range vs.LabelMatchers {
					if m.Type == labels.MatchEqual && m.Name != model.MetricNameLabel {
						out[m.Name] = true
					}
				}
			}
			return nil
		})
		return out
	case "histogram_quantile":
		out := map[string]bool{}
		for k := range c.outputLabels(n.Args[1]) {
			if k != "le" {
				out[k] = true
			}
		}
		return out
	case "time", "vector", "scalar":
		return map[string]bool{}
	}
	for _, a := range n.Args {
		if a.Type() == parser.ValueTypeVector || a.Type() == parser.ValueTypeMatrix {
			return c.outputLabels(a)
		}
	}
	return map[string]bool{}
}

func (c Catalogue) binaryLabels(n *parser.BinaryExpr) map[string]bool {
	lhs, rhs := c.outputLabels(n.LHS), c.outputLabels(n.RHS)
	switch {
	case n.LHS.Type() != parser.ValueTypeVector:
		return rhs
	case n.RHS.Type() != parser.ValueTypeVector:
		return lhs
	case n.VectorMatching != nil && n.VectorMatching.Card == parser.CardOneToMany:
		return union(rhs, setOf(n.VectorMatching.Include))
	case n.VectorMatching != nil && n.VectorMatching.Card == parser.CardManyToOne:
		return union(lhs, setOf(n.VectorMatching.Include))
	}
	return lhs
}

// CheckTemplate returns the {{ $labels.x }} of an alert annotation that the expression's result lacks.
func CheckTemplate(text string, out map[string]bool) []string {
	var problems []string
	for _, part := range strings.Split(text, "$labels.")[1:] {
		name := part[:strings.IndexFunc(part+" ", func(r rune) bool {
			return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_'
		})]
		if !out[name] {
			problems = append(problems, fmt.Sprintf("$labels.%s: the result carries only %s", name, keys(out)))
		}
	}
	return problems
}

// CheckLegend returns the {{label}} of a Grafana legend that the expression's result lacks.
func CheckLegend(legend string, out map[string]bool) []string {
	var problems []string
	for _, part := range strings.Split(legend, "{{")[1:] {
		name := strings.TrimSpace(strings.SplitN(part, "}}", 2)[0])
		if !out[name] {
			problems = append(problems, fmt.Sprintf("legend {{%s}}: the result carries only %s", name, keys(out)))
		}
	}
	return problems
}

func unknownLabels(where string, names []string, known map[string]bool) []string {
	var problems []string
	for _, n := range names {
		if !known[n] {
			problems = append(problems, fmt.Sprintf("%s names label %q, which none of its metrics carry (%s)", where, n, keys(known)))
		}
	}
	return problems
}

func union(a, b map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func setOf(names []string) map[string]bool {
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

func keys(m map[string]bool) string {
	s := make([]string, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return "[" + strings.Join(s, " ") + "]"
}
