// Package observability checks the operator's alerts and Grafana dashboard against the metrics it exports.
package observability

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/tokenoperator/cloudflare-token-operator/internal/metrics"
)

// Catalogue maps each metric name the operator exports to the set of its label names.
type Catalogue map[string]map[string]bool

// collectorRecorder is a Registerer that keeps what is registered, to ask each collector for its
// descriptions (a Registry only hands out metrics that have series).
type collectorRecorder struct{ collectors []prometheus.Collector }

func (r *collectorRecorder) Register(c prometheus.Collector) error {
	r.collectors = append(r.collectors, c)
	return nil
}

func (r *collectorRecorder) MustRegister(cs ...prometheus.Collector) {
	r.collectors = append(r.collectors, cs...)
}

func (r *collectorRecorder) Unregister(prometheus.Collector) bool { return false }

// descPattern reads a Desc's String(): its name, constant and variable labels.
var descPattern = regexp.MustCompile(`^Desc\{fqName: "([^"]+)", .*constLabels: \{([^}]*)\}, variableLabels: \{([^}]*)\}\}$`)

// OperatorMetrics describes every collector internal/metrics registers, as the manager does.
func OperatorMetrics() (Catalogue, error) {
	rec := &collectorRecorder{}
	if _, err := metrics.New(rec); err != nil {
		return nil, err
	}
	if err := metrics.RegisterState(rec, fake.NewClientBuilder().Build(), "test"); err != nil {
		return nil, err
	}
	cat := Catalogue{}
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range rec.collectors {
			c.Describe(ch)
		}
		close(ch)
	}()
	for d := range ch {
		m := descPattern.FindStringSubmatch(d.String())
		if m == nil {
			return nil, fmt.Errorf("cannot read the description %s", d)
		}
		labels := map[string]bool{}
		for _, part := range []string{m[2], m[3]} {
			for _, l := range strings.Split(part, ",") {
				name, _, _ := strings.Cut(l, "=")
				name = strings.TrimSuffix(strings.TrimPrefix(name, "c("), ")")
				if name != "" {
					labels[name] = true
				}
			}
		}
		cat[m[1]] = labels
	}
	if len(cat) == 0 {
		return nil, fmt.Errorf("internal/metrics describes no metric")
	}
	return cat, nil
}

// Lookup returns the labels of a series name: a metric, or a histogram's _bucket (plus le), _sum or _count.
func (c Catalogue) Lookup(name string) (map[string]bool, bool) {
	if l, ok := c[name]; ok {
		return l, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if l, known := c[base]; ok && known {
			if suffix != "_bucket" {
				return l, true
			}
			out := map[string]bool{"le": true}
			for k := range l {
				out[k] = true
			}
			return out, true
		}
	}
	return nil, false
}
