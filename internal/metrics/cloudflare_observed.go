package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// newServerRemainingCollector reports, per credential, what Cloudflare said is left of its rate limit on the
// last answer (the Ratelimit header). Unlike the client-side budget it counts every client of the same user:
// the tokens the operator minted, used by cert-manager and external-dns, spend it too.
func newServerRemainingCollector(now func() time.Time) *budgetCollector {
	return &budgetCollector{
		desc: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "cloudflare_server_ratelimit_remaining"),
			"Requests Cloudflare reported left in its rate limit for a parent credential's bucket (the user's, shared "+
				"with every token of the user, or the account token's), as of the last answer, by credential hash "+
				"(a digest, never the credential). Absent once the credential made no request for 10 minutes.",
			[]string{"credential_hash"}, nil),
		now:  now,
		last: map[string]budgetReading{},
	}
}

// ServerRemaining reports what Cloudflare said is left for a credential.
func (r *Recorder) ServerRemaining(credentialHash string, n int) {
	r.serverRemaining.set(credentialHash, n)
}

// ConsumerStillUsesOldToken counts a replaced token used after the Secret switched away from it.
func (r *Recorder) ConsumerStillUsesOldToken(namespace, name, issuer string) {
	r.staleUses.WithLabelValues(namespace, name, issuer).Inc()
}
