package sweeper

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/tokenname"
)

// The grace period protects a mint under way; a dead token of this cluster that no resource records is
// never one, and holds quota: it is an orphan at once.
func TestDeadUnrecordedTokensNeedNoGrace(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &OrphanSweeper{ClusterHash: tokenname.ClusterHash("here"), Grace: time.Hour, Clock: clocktesting.NewFakeClock(now)}
	ours := tokenname.Name{Cluster: s.ClusterHash, UID: types.UID("0d7c1d52-4ae3-4c5b-9d35-1f1e7b1b6e10"), Serial: 1}.Format("ns", "n")
	theirs := tokenname.Name{Cluster: tokenname.ClusterHash("elsewhere"), UID: types.UID("0d7c1d52-4ae3-4c5b-9d35-1f1e7b1b6e11"), Serial: 1}.Format("ns", "n")
	past := now.Add(-time.Minute)
	fresh := now.Add(-time.Second)
	cases := []struct {
		name string
		tok  cloudflare.Token
		want bool
	}{
		{"fresh and active: maybe a mint under way", cloudflare.Token{Name: ours, Status: cloudflare.StatusActive, IssuedOn: fresh}, false},
		{"fresh and exposed", cloudflare.Token{Name: ours, Status: cloudflare.StatusExposed, IssuedOn: fresh}, true},
		{"fresh and disabled", cloudflare.Token{Name: ours, Status: cloudflare.StatusDisabled, IssuedOn: fresh}, true},
		{"fresh, active, past its expiry", cloudflare.Token{Name: ours, Status: cloudflare.StatusActive, IssuedOn: fresh, ExpiresOn: &past}, true},
		{"old and active", cloudflare.Token{Name: ours, Status: cloudflare.StatusActive, IssuedOn: now.Add(-2 * time.Hour)}, true},
		{"another cluster's, dead", cloudflare.Token{Name: theirs, Status: cloudflare.StatusExpired, IssuedOn: fresh}, false},
	}
	for _, tc := range cases {
		if got := s.isOrphan(tc.tok, recordedTokens{}); got != tc.want {
			t.Errorf("%s: isOrphan = %v, want %v", tc.name, got, tc.want)
		}
	}
	n, _ := tokenname.Parse(ours)
	if s.isOrphan(cloudflare.Token{Name: ours, Status: cloudflare.StatusExpired, IssuedOn: fresh}, recordedTokens{n.UID: {}}) {
		t.Error("a dead token of a resource that exists is the resource's to replace, not the sweeper's")
	}
}
