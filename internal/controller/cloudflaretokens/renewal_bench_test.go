package cloudflaretokens

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/observe"
)

// benchToken is a typical fresh CloudflareToken: one zone, two permissions, a rotate value already handled.
func benchToken() *cfv1.CloudflareToken {
	return &cfv1.CloudflareToken{
		ObjectMeta: metav1.ObjectMeta{Name: "dns01", Namespace: "cert-manager",
			Annotations: map[string]string{cfv1.AnnotationRotate: "r1"}},
		Spec: cfv1.CloudflareTokenSpec{
			IssuerRef:   cfv1.IssuerRef{Kind: "ClusterTokenIssuer", Name: "cloudflare"},
			Zones:       []string{"example.org", "example.com"},
			Permissions: []string{"Zone Read", "DNS Write"},
			TTL:         &metav1.Duration{Duration: 168 * time.Hour},
		},
		Status: cfv1.CloudflareTokenStatus{TokenID: "0123abcd", ScopeHash: "s1", LastRotateRequest: "r1",
			ExpiresAt: mt(t0.Add(168 * time.Hour)), RenewalTime: mt(t0.Add(112 * time.Hour))},
	}
}

// BenchmarkMintReasonFresh is the renewal decision on the common path: a fresh token stays (every rule
// is checked).
func BenchmarkMintReasonFresh(b *testing.B) {
	tok := benchToken()
	facts := tokenFacts{scopeHash: "s1", live: true, secretHoldsToken: true}
	b.ReportAllocs()
	for b.Loop() {
		if mintReason(tok, facts, t0) != observe.MintNone {
			b.Fatal("a fresh token needs no mint")
		}
	}
}

// BenchmarkMintReasonRenewalDue is the decision when the renewal time has come.
func BenchmarkMintReasonRenewalDue(b *testing.B) {
	tok := benchToken()
	facts := tokenFacts{scopeHash: "s1", live: true, secretHoldsToken: true}
	now := t0.Add(120 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if mintReason(tok, facts, now) != observe.MintRenewalDue {
			b.Fatal("renewal is due")
		}
	}
}

// BenchmarkScopeHash hashes a token's declared scope, as every reconcile does before deciding.
func BenchmarkScopeHash(b *testing.B) {
	tok := benchToken()
	iss := &cfv1.IssuerSpec{AccountID: "023e105f4ecef8ad9ca31a8372d0c353",
		DefaultSourceRanges: &cfv1.SourceRanges{Allow: []cfv1.CIDR{"203.0.113.0/24"}}}
	b.ReportAllocs()
	for b.Loop() {
		_ = scopeHash(tok, iss, iss.AccountID)
	}
}

func BenchmarkRenewalTime(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = renewalTime(t0, 56*60*60*1e9, "0b5c2a9e-1d3f-4c6a-9e8b-7f2d1c0a9b8e/7")
	}
}
