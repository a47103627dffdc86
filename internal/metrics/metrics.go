// Package metrics exports what the operator does as Prometheus metrics. Recorder implements both
// observe.Observer (what the reconcilers do) and cloudflare.Metrics (what the Cloudflare client sees).
//
// Labels name Kubernetes objects, issuers ("ClusterTokenIssuer/cloudflare", "TokenIssuer/ns/name"), reasons,
// endpoints without ids, and credential hashes: never a token or credential value.
package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/observe"
)

// Namespace prefixes every metric name: cloudflare_token_operator_.
const Namespace = "cloudflare_token_operator"

// budgetStaleAfter is how long a credential's budget is reported after its last request. The budget counts
// over 5 minutes, so a credential unused for longer has its whole budget back; dropping the series then keeps
// a rotated-away credential from reporting an exhausted budget forever.
const budgetStaleAfter = 10 * time.Minute

// Recorder holds the operator's collectors. It is safe for concurrent use.
type Recorder struct {
	tokenExpiry, tokenRenewal, tokenIssued *prometheus.GaugeVec
	mints, failures, revocations           *prometheus.CounterVec
	revocationFailures, staleUses          *prometheus.CounterVec
	requests                               *prometheus.CounterVec
	requestDuration                        *prometheus.HistogramVec
	tokensHeld, tokenQuota                 *prometheus.GaugeVec
	credentialExpiry                       *prometheus.GaugeVec
	budget, serverRemaining                *budgetCollector

	mu sync.Mutex
	// issuerOf remembers under which issuer label a token's gauges are, to drop them when it changes.
	issuerOf map[tokenKey]string
}

type tokenKey struct{ namespace, name string }

var (
	_ observe.Observer         = (*Recorder)(nil)
	_ cloudflare.Metrics       = (*Recorder)(nil)
	_ cloudflare.ServerMetrics = (*Recorder)(nil)
	_ observe.UsageObserver    = (*Recorder)(nil)
)

// New creates the collectors and registers them with reg (controller-runtime's metrics.Registry in the
// manager, so that they are served on its metrics endpoint).
func New(reg prometheus.Registerer) (*Recorder, error) {
	tokenLabels := []string{"namespace", "name", "issuer"}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	r := &Recorder{
		tokenExpiry: gauge("token_expiry_timestamp_seconds",
			"When the token a CloudflareToken's Secret holds expires, as a Unix timestamp.", tokenLabels...),
		tokenRenewal: gauge("token_renewal_timestamp_seconds",
			"When the operator rotates a CloudflareToken's token, as a Unix timestamp.", tokenLabels...),
		tokenIssued: gauge("token_issued_timestamp_seconds",
			"When the token a CloudflareToken's Secret holds was minted, as a Unix timestamp.", tokenLabels...),
		mints: counter("tokens_minted_total",
			"Tokens minted, by issuer and reason (NoToken for a first mint; RenewalDue, RotateRequested, ScopeChanged, "+
				"TokenNotLive, SecretLost, Expired for rotations).", "issuer", "reason"),
		failures: counter("reconcile_failures_total",
			"Failed CloudflareToken passes, by issuer and condition reason.", "issuer", "reason"),
		revocations: counter("tokens_revoked_total",
			"Tokens revoked at Cloudflare, by issuer and why (rotation, deletion, unrecorded, orphan).", "issuer", "why"),
		revocationFailures: counter("token_revocation_failures_total",
			"Revocations that failed and will be retried, by issuer.", "issuer"),
		requests: counter("cloudflare_requests_total",
			"HTTP requests to Cloudflare's API, by endpoint (method and route without ids) and HTTP status (0: transport error).",
			"endpoint", "status"),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace,
			Name: "cloudflare_request_duration_seconds", Help: "Latency of HTTP requests to Cloudflare's API, by endpoint.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"endpoint"}),
		tokensHeld: gauge("issuer_tokens_held",
			"Tokens the issuer's owner (user or account) holds at Cloudflare, as of the last inventory.", "issuer"),
		tokenQuota: gauge("issuer_token_quota",
			"Cloudflare's token quota of the issuer's owner (50 per user, 500 per account).", "issuer"),
		credentialExpiry: gauge("issuer_credential_expiry_timestamp_seconds",
			"When the issuer's parent API token expires, as a Unix timestamp; absent when it does not expire.", "issuer"),
		staleUses: counter("consumer_still_uses_old_token_total",
			"Replaced tokens Cloudflare saw used after the Secret switched to their replacement (a consumer that did "+
				"not reload the Secret, and breaks when the old token is revoked), by CloudflareToken.", "namespace", "name", "issuer"),
		budget:          newBudgetCollector(time.Now),
		serverRemaining: newServerRemainingCollector(time.Now),
		issuerOf:        map[tokenKey]string{},
	}
	for _, c := range []prometheus.Collector{r.tokenExpiry, r.tokenRenewal, r.tokenIssued, r.mints, r.failures,
		r.revocations, r.revocationFailures, r.staleUses, r.requests, r.requestDuration, r.tokensHeld, r.tokenQuota,
		r.credentialExpiry, r.budget, r.serverRemaining} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// TokenObserved sets a CloudflareToken's timestamps.
func (r *Recorder) TokenObserved(namespace, name, issuer string, issuedAt, expiresAt, renewalTime time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := tokenKey{namespace, name}
	if old, ok := r.issuerOf[k]; ok && old != issuer {
		r.deleteToken(namespace, name, old)
	}
	r.issuerOf[k] = issuer
	setTime(r.tokenIssued.WithLabelValues(namespace, name, issuer), issuedAt)
	setTime(r.tokenExpiry.WithLabelValues(namespace, name, issuer), expiresAt)
	setTime(r.tokenRenewal.WithLabelValues(namespace, name, issuer), renewalTime)
}

// TokenForgotten drops a CloudflareToken's gauges.
func (r *Recorder) TokenForgotten(namespace, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := tokenKey{namespace, name}
	if old, ok := r.issuerOf[k]; ok {
		r.deleteToken(namespace, name, old)
		delete(r.issuerOf, k)
	}
}

func (r *Recorder) deleteToken(namespace, name, issuer string) {
	for _, g := range []*prometheus.GaugeVec{r.tokenIssued, r.tokenExpiry, r.tokenRenewal} {
		g.DeleteLabelValues(namespace, name, issuer)
	}
}

// Minted counts a mint.
func (r *Recorder) Minted(issuer string, reason observe.MintReason) {
	r.mints.WithLabelValues(issuer, string(reason)).Inc()
}

// Failed counts a failed pass.
func (r *Recorder) Failed(issuer, reason string) { r.failures.WithLabelValues(issuer, reason).Inc() }

// RevocationFailed counts a failed revocation.
func (r *Recorder) RevocationFailed(issuer string) {
	r.revocationFailures.WithLabelValues(issuer).Inc()
}

// Revoked counts a revocation.
func (r *Recorder) Revoked(issuer, why string) { r.revocations.WithLabelValues(issuer, why).Inc() }

// IssuerQuota sets the tokens held and the quota of an issuer's owner.
func (r *Recorder) IssuerQuota(issuer string, held, quota int) {
	r.tokensHeld.WithLabelValues(issuer).Set(float64(held))
	r.tokenQuota.WithLabelValues(issuer).Set(float64(quota))
}

// CredentialExpiry sets when an issuer's parent credential expires; the zero time drops the series.
func (r *Recorder) CredentialExpiry(issuer string, expiresAt time.Time) {
	if expiresAt.IsZero() {
		r.credentialExpiry.DeleteLabelValues(issuer)
		return
	}
	setTime(r.credentialExpiry.WithLabelValues(issuer), expiresAt)
}

// ObserveRequest counts a Cloudflare request and its latency.
func (r *Recorder) ObserveRequest(endpoint string, status int, d time.Duration) {
	r.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	r.requestDuration.WithLabelValues(endpoint).Observe(d.Seconds())
}

// BudgetRemaining reports a credential's client-side request budget.
func (r *Recorder) BudgetRemaining(credentialHash string, n int) { r.budget.set(credentialHash, n) }

func setTime(g prometheus.Gauge, t time.Time) {
	if t.IsZero() {
		g.Set(0)
		return
	}
	g.Set(float64(t.Unix()))
}

// budgetCollector reports each credential's remaining budget until budgetStaleAfter after its last request.
type budgetCollector struct {
	desc *prometheus.Desc
	now  func() time.Time

	mu   sync.Mutex
	last map[string]budgetReading
}

type budgetReading struct {
	n  int
	at time.Time
}

func newBudgetCollector(now func() time.Time) *budgetCollector {
	return &budgetCollector{
		desc: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "cloudflare_budget_remaining"),
			"Requests left in the client-side budget of a parent credential (per 5 minutes), by credential hash "+
				"(a digest, never the credential). Absent once the credential made no request for 10 minutes.",
			[]string{"credential_hash"}, nil),
		now:  now,
		last: map[string]budgetReading{},
	}
}

func (b *budgetCollector) set(hash string, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last[hash] = budgetReading{n: n, at: b.now()}
}

func (b *budgetCollector) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }

func (b *budgetCollector) Collect(ch chan<- prometheus.Metric) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cutoff := b.now().Add(-budgetStaleAfter)
	for h, r := range b.last {
		if r.at.Before(cutoff) {
			delete(b.last, h)
			continue
		}
		ch <- prometheus.MustNewConstMetric(b.desc, prometheus.GaugeValue, float64(r.n), h)
	}
}
