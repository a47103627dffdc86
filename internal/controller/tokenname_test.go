package controller

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestTokenNameRoundTrip(t *testing.T) {
	n := TokenName{Cluster: ClusterHash("prod-eu"), UID: types.UID("0b5c2a9e-1d3f-4c6a-9e8b-7f2d1c0a9b8e"), Serial: 42}
	s := n.Format("cert-manager", "dns01")
	if s != "cfto:"+n.Cluster+":0b5c2a9e-1d3f-4c6a-9e8b-7f2d1c0a9b8e:42 cert-manager/dns01" {
		t.Fatalf("Format = %q", s)
	}
	got, ok := ParseTokenName(s)
	if !ok || got != n {
		t.Fatalf("ParseTokenName(%q) = %+v, %v; want %+v", s, got, ok, n)
	}
}

func TestTokenNameFitsCloudflaresLimitAndStillParses(t *testing.T) {
	n := TokenName{Cluster: ClusterHash("c"), UID: "0b5c2a9e-1d3f-4c6a-9e8b-7f2d1c0a9b8e", Serial: 1}
	s := n.Format(strings.Repeat("n", 63), strings.Repeat("ü", 200))
	if len(s) > 120 {
		t.Fatalf("name is %d bytes, Cloudflare allows 120", len(s))
	}
	if got, ok := ParseTokenName(s); !ok || got != n {
		t.Fatalf("a cut name does not parse back: %+v %v", got, ok)
	}
}

func TestParseTokenNameRejectsForeignNames(t *testing.T) {
	for _, s := range []string{"", "my laptop token", "cfto:xyz:1:2", "cfto:0123abcd:not-a-uid:1 a/b",
		"xcfto:0123abcd:0b5c2a9e-1d3f-4c6a-9e8b-7f2d1c0a9b8e:1 a/b"} {
		if _, ok := ParseTokenName(s); ok {
			t.Errorf("ParseTokenName(%q) accepted a name this operator did not make", s)
		}
	}
}

func BenchmarkParseTokenName(b *testing.B) {
	s := TokenName{Cluster: ClusterHash("c"), UID: "0b5c2a9e-1d3f-4c6a-9e8b-7f2d1c0a9b8e", Serial: 7}.Format("ns", "name")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseTokenName(s)
	}
}

func BenchmarkRenewalTime(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = renewalTime(t0, 56*60*60*1e9, "0b5c2a9e-1d3f-4c6a-9e8b-7f2d1c0a9b8e/7")
	}
}
