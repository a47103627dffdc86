package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/observe"
)

// exercise calls every method of the Recorder once, so that every metric has a series.
func exercise(r *Recorder, now time.Time) {
	r.TokenObserved("team-a", "dns01", "ClusterTokenIssuer/cloudflare", now.Add(-time.Hour), now.Add(167*time.Hour), now.Add(111*time.Hour))
	r.Minted("ClusterTokenIssuer/cloudflare", observe.MintFirst)
	r.Failed("ClusterTokenIssuer/cloudflare", "RateLimited")
	r.Revoked("ClusterTokenIssuer/cloudflare", "rotation")
	r.RevocationFailed("ClusterTokenIssuer/cloudflare")
	r.IssuerQuota("ClusterTokenIssuer/cloudflare", 3, 50)
	r.CredentialExpiry("ClusterTokenIssuer/cloudflare", now.Add(30*24*time.Hour))
	r.ObserveRequest("POST /user/tokens", 200, 120*time.Millisecond)
	r.BudgetRemaining("0123456789abcdef", 998)
	r.ServerRemaining("0123456789abcdef", 49)
	r.ConsumerStillUsesOldToken("team-a", "dns01", "ClusterTokenIssuer/cloudflare")
}

func newTestRecorder(t *testing.T) (*Recorder, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	r, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return r, reg
}

func TestEveryMetricIsExported(t *testing.T) {
	r, reg := newTestRecorder(t)
	now := time.Unix(1_900_000_000, 0)
	exercise(r, now)
	got := exportedNames(t, reg)
	want := []string{
		"cloudflare_token_operator_token_expiry_timestamp_seconds",
		"cloudflare_token_operator_token_renewal_timestamp_seconds",
		"cloudflare_token_operator_token_issued_timestamp_seconds",
		"cloudflare_token_operator_tokens_minted_total",
		"cloudflare_token_operator_reconcile_failures_total",
		"cloudflare_token_operator_tokens_revoked_total",
		"cloudflare_token_operator_token_revocation_failures_total",
		"cloudflare_token_operator_cloudflare_requests_total",
		"cloudflare_token_operator_cloudflare_request_duration_seconds",
		"cloudflare_token_operator_cloudflare_budget_remaining",
		"cloudflare_token_operator_cloudflare_server_ratelimit_remaining",
		"cloudflare_token_operator_consumer_still_uses_old_token_total",
		"cloudflare_token_operator_issuer_tokens_held",
		"cloudflare_token_operator_issuer_token_quota",
		"cloudflare_token_operator_issuer_credential_expiry_timestamp_seconds",
	}
	for _, n := range want {
		if !got[n] {
			t.Errorf("metric %s is not exported", n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("exported %d metrics, want %d: %v", len(got), len(want), got)
	}
	expiry := gaugeValue(t, r.tokenExpiry.WithLabelValues("team-a", "dns01", "ClusterTokenIssuer/cloudflare"))
	if expiry != float64(now.Add(167*time.Hour).Unix()) {
		t.Errorf("expiry %v", expiry)
	}
}

func TestTokenSeriesFollowTheIssuerAndGoWithTheToken(t *testing.T) {
	r, reg := newTestRecorder(t)
	now := time.Now()
	r.TokenObserved("ns", "a", "ClusterTokenIssuer/one", now, now.Add(time.Hour), now.Add(40*time.Minute))
	r.TokenObserved("ns", "a", "ClusterTokenIssuer/two", now, now.Add(time.Hour), now.Add(40*time.Minute))
	if n := collectAndCount(r.tokenExpiry); n != 1 {
		t.Fatalf("%d expiry series after an issuer change, want 1", n)
	}
	r.TokenForgotten("ns", "a")
	r.TokenForgotten("ns", "never-seen")
	for _, n := range []string{"token_expiry_timestamp_seconds", "token_renewal_timestamp_seconds", "token_issued_timestamp_seconds"} {
		if exportedNames(t, reg)[Namespace+"_"+n] {
			t.Errorf("%s: series left after TokenForgotten", n)
		}
	}
}

func TestCredentialExpiryZeroDropsTheSeries(t *testing.T) {
	r, _ := newTestRecorder(t)
	r.CredentialExpiry("ClusterTokenIssuer/x", time.Now().Add(time.Hour))
	r.CredentialExpiry("ClusterTokenIssuer/x", time.Time{})
	if n := collectAndCount(r.credentialExpiry); n != 0 {
		t.Errorf("%d series, want 0", n)
	}
}

func TestBudgetOfAnIdleCredentialGoes(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	b := newBudgetCollector(func() time.Time { return now })
	b.set("aaaa", 0)
	if n := collectAndCount(b); n != 1 {
		t.Fatalf("%d series, want 1", n)
	}
	now = now.Add(budgetStaleAfter + time.Second)
	if n := collectAndCount(b); n != 0 {
		t.Errorf("%d series after %s idle, want 0", n, budgetStaleAfter)
	}
}

func TestRequestsByEndpointAndStatus(t *testing.T) {
	r, _ := newTestRecorder(t)
	r.ObserveRequest("GET /user/tokens", 200, time.Millisecond)
	r.ObserveRequest("GET /user/tokens", 429, time.Millisecond)
	r.ObserveRequest("GET /user/tokens", 0, time.Second)
	if v := counterValue(t, r.requests.WithLabelValues("GET /user/tokens", "429")); v != 1 {
		t.Errorf("429s: %v", v)
	}
	if n := collectAndCount(r.requests); n != 3 {
		t.Errorf("%d request series, want 3", n)
	}
	if n := collectAndCount(r.requestDuration); n != 1 {
		t.Errorf("%d latency series, want 1", n)
	}
}

func TestRegisteringTwiceFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(reg); err == nil {
		t.Error("a second Recorder on the same registry registered")
	}
}

func TestDefaultIsOneRecorder(t *testing.T) {
	a, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Default()
	if a != b {
		t.Error("Default returned two recorders")
	}
}

// exportedNames gathers reg and returns the metric family names.
func exportedNames(t *testing.T, reg prometheus.Gatherer) map[string]bool {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), Namespace+"_") {
			t.Errorf("metric %s lacks the %s_ prefix", f.GetName(), Namespace)
		}
		out[f.GetName()] = true
	}
	return out
}

// collectAndCount is how many series c collects.
func collectAndCount(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	n := 0
	for range ch {
		n++
	}
	return n
}

func write(t *testing.T, m prometheus.Metric) *dto.Metric {
	t.Helper()
	out := &dto.Metric{}
	if err := m.Write(out); err != nil {
		t.Fatal(err)
	}
	return out
}

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 { return write(t, g).GetGauge().GetValue() }

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	return write(t, c).GetCounter().GetValue()
}
