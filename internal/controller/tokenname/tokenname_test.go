package tokenname

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

func TestTokenNameRoundTrip(t *testing.T) {
	n := Name{Cluster: ClusterHash("prod-eu"), UID: types.UID("0b5c2a9e-1d3f-4c6a-9e8b-7f2d1c0a9b8e"), Serial: 42}
	s := n.Format("cert-manager", "dns01")
	if s != "cfto:"+n.Cluster+":0b5c2a9e-1d3f-4c6a-9e8b-7f2d1c0a9b8e:42 cert-manager/dns01" {
		t.Fatalf("Format = %q", s)
	}
	got, ok := Parse(s)
	if !ok || got != n {
		t.Fatalf("Parse(%q) = %+v, %v; want %+v", s, got, ok, n)
	}
}

func TestTokenNameFitsCloudflaresLimitAndStillParses(t *testing.T) {
	n := Name{Cluster: ClusterHash("c"), UID: "0b5c2a9e-1d3f-4c6a-9e8b-7f2d1c0a9b8e", Serial: 1}
	s := n.Format(strings.Repeat("n", 63), strings.Repeat("ü", 200))
	if len(s) > 120 {
		t.Fatalf("name is %d bytes, Cloudflare allows 120", len(s))
	}
	if got, ok := Parse(s); !ok || got != n {
		t.Fatalf("a cut name does not parse back: %+v %v", got, ok)
	}
}

func TestParseRejectsForeignNames(t *testing.T) {
	for _, s := range []string{"", "my laptop token", "cfto:xyz:1:2", "cfto:0123abcd:not-a-uid:1 a/b",
		"xcfto:0123abcd:0b5c2a9e-1d3f-4c6a-9e8b-7f2d1c0a9b8e:1 a/b"} {
		if _, ok := Parse(s); ok {
			t.Errorf("Parse(%q) accepted a name this operator did not make", s)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	s := Name{Cluster: ClusterHash("c"), UID: "0b5c2a9e-1d3f-4c6a-9e8b-7f2d1c0a9b8e", Serial: 7}.Format("ns", "name")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Parse(s)
	}
}

func TestRetainedNameIsNotMarked(t *testing.T) {
	name := Name{Cluster: "0123abcd", UID: "6f1c2d3e-0000-4000-8000-000000000000", Serial: 3}.Format("ns", strings.Repeat("n", 200))
	if _, ok := Parse(name); !ok {
		t.Fatal("minted name does not parse")
	}
	got := Retained(name)
	if _, ok := Parse(got); ok || len(got) > cloudflare.MaxTokenName {
		t.Fatalf("retained name %q still carries the mark or is too long (%d)", got, len(got))
	}
}
