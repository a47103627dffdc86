package metrics

import (
	"context"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// conditionStatuses are the values of the condition label: each object has one series per status, 1 for the
// status its condition has and 0 for the others (cert-manager's certificate_ready_status does the same), so
// that `== 1` selects, and a missing condition counts as Unknown.
var conditionStatuses = []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown}

// listTimeout bounds the reads of one scrape; they come from the manager's cache.
const listTimeout = 5 * time.Second

// stateCollector reports the conditions of every CloudflareToken, TokenIssuer and ClusterTokenIssuer as they
// are in the cache at scrape time, as kube-state-metrics would: nothing to keep in step with the
// reconcilers, and a deleted object's series go with it.
type stateCollector struct {
	reader                            client.Reader
	tokenReady, issuerReady, hardened *prometheus.Desc
}

// RegisterState registers, on reg, the condition gauges read through reader (the manager's cache) and
// cloudflare_token_operator_build_info (1, labelled with version and Go version; its absence means no
// manager is being scraped).
func RegisterState(reg prometheus.Registerer, reader client.Reader, version string) error {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	}
	c := &stateCollector{
		reader: reader,
		tokenReady: desc("token_ready",
			"1 for the status (True, False, Unknown) of each CloudflareToken's Ready condition, 0 for the others.",
			"namespace", "name", "issuer", "condition"),
		issuerReady: desc("issuer_ready",
			"1 for the status (True, False, Unknown) of each issuer's Ready condition, 0 for the others.",
			"issuer", "condition"),
		hardened: desc("issuer_credential_hardened",
			"1 for the status of each issuer's CredentialHardened condition (False: its parent token has no client "+
				"IP filter or no expiry), 0 for the others.", "issuer", "condition"),
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help:        "Always 1; labelled with the manager's version and Go version.",
		ConstLabels: prometheus.Labels{"version": version, "go_version": runtime.Version()}})
	info.Set(1)
	for _, col := range []prometheus.Collector{c, info} {
		if err := reg.Register(col); err != nil {
			return err
		}
	}
	return nil
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.tokenReady
	ch <- c.issuerReady
	ch <- c.hardened
}

// Collect lists the three kinds. A list that fails (the cache not synced yet) leaves its series out of this
// scrape rather than failing the whole endpoint.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	var tokens cfv1.CloudflareTokenList
	if err := c.reader.List(ctx, &tokens); err == nil {
		for i := range tokens.Items {
			t := &tokens.Items[i]
			issuer := tokenIssuerLabel(t)
			emitCondition(ch, c.tokenReady, t.Status.Conditions, cfv1.ConditionReady, t.Namespace, t.Name, issuer)
		}
	}
	var issuers cfv1.TokenIssuerList
	if err := c.reader.List(ctx, &issuers); err == nil {
		for i := range issuers.Items {
			iss := &issuers.Items[i]
			c.emitIssuer(ch, cfv1.KindTokenIssuer+"/"+iss.Namespace+"/"+iss.Name, iss.Status.Conditions)
		}
	}
	var clusterIssuers cfv1.ClusterTokenIssuerList
	if err := c.reader.List(ctx, &clusterIssuers); err == nil {
		for i := range clusterIssuers.Items {
			iss := &clusterIssuers.Items[i]
			c.emitIssuer(ch, cfv1.KindClusterTokenIssuer+"/"+iss.Name, iss.Status.Conditions)
		}
	}
}

// emitIssuer reports Ready (Unknown until set), and CredentialHardened where the issuer has it (a Global API
// Key has no such condition, and no series).
func (c *stateCollector) emitIssuer(ch chan<- prometheus.Metric, issuer string, conds []metav1.Condition) {
	emitCondition(ch, c.issuerReady, conds, cfv1.ConditionReady, issuer)
	if meta.FindStatusCondition(conds, cfv1.ConditionCredentialHardened) != nil {
		emitCondition(ch, c.hardened, conds, cfv1.ConditionCredentialHardened, issuer)
	}
}

// emitCondition sends one series per status for condition condType, labelled with labels plus the status.
func emitCondition(ch chan<- prometheus.Metric, d *prometheus.Desc, conds []metav1.Condition, condType string,
	labels ...string) {
	status := metav1.ConditionUnknown
	if cond := meta.FindStatusCondition(conds, condType); cond != nil {
		status = cond.Status
	}
	for _, s := range conditionStatuses {
		v := 0.0
		if s == status {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append(labels, string(s))...)
	}
}

// tokenIssuerLabel names a CloudflareToken's issuer as the other metrics' issuer label does.
func tokenIssuerLabel(t *cfv1.CloudflareToken) string {
	if t.Spec.IssuerRef.Kind == cfv1.KindTokenIssuer {
		return cfv1.KindTokenIssuer + "/" + t.Namespace + "/" + t.Spec.IssuerRef.Name
	}
	return t.Spec.IssuerRef.Kind + "/" + t.Spec.IssuerRef.Name
}
