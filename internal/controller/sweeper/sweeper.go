package sweeper

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/inventory"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/observe"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/tokenname"
)

// OrphanSweeper revokes tokens that carry this cluster's mark but that no CloudflareToken records: left by
// a resource deleted without its finalizer, or by a cluster restored from an old backup. Tokens of other
// clusters and tokens people made by hand never match the mark and are never touched.
type OrphanSweeper struct {
	Client      client.Client
	Issuers     *issuerclient.Loader
	Inventory   *inventory.Inventory
	ClusterHash string
	// Interval between sweeps; each lists every credential's tokens once, 50 to a page.
	Interval time.Duration
	// Grace is how old an unrecorded token must be before it is revoked, so that a mint under way (its
	// token created, not yet recorded) is never mistaken for an orphan.
	Grace time.Duration
	// Clock ticks the sweeps and dates them.
	Clock    clock.WithTicker
	Observer observe.Observer
	Log      logr.Logger
	// Drifted receives the CloudflareTokens whose recorded token a sweep no longer lists as live, so that
	// they are replaced within one interval instead of at their own next check.
	Drifted chan<- event.TypedGenericEvent[client.Object]
}

// Start sweeps every Interval until ctx ends. It runs on the leader only.
func (s *OrphanSweeper) Start(ctx context.Context) error {
	t := s.Clock.NewTicker(s.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			if n, err := s.SweepOnce(ctx); err != nil {
				s.Log.Error(err, "orphan sweep incomplete", "revoked", n)
			} else if n > 0 {
				s.Log.Info("revoked orphaned tokens", "count", n)
			}
		}
	}
}

// recordedTokens is what the CloudflareTokens of the cluster record, by UID.
type recordedTokens map[types.UID]map[string]bool

// SweepOnce lists each credential's tokens once and revokes this cluster's orphans.
func (s *OrphanSweeper) SweepOnce(ctx context.Context) (int, error) {
	recorded, err := s.recorded(ctx)
	if err != nil {
		return 0, err
	}
	clients, err := s.credentials(ctx)
	if err != nil {
		return 0, err
	}
	revoked := 0
	var errs []error
	sweptAt := s.Clock.Now()
	live := map[string]bool{}
	for _, c := range clients {
		tokens, err := s.Inventory.Sweep(ctx, c.Key, c.Client)
		if err != nil {
			errs = append(errs, fmt.Errorf("listing tokens of %s: %w", c.Issuer, err))
			continue
		}
		for _, t := range tokens {
			if inventory.IsLive(t, sweptAt) {
				live[t.ID] = true
			}
		}
		for _, t := range tokens {
			if !s.isOrphan(t, recorded) {
				continue
			}
			if err := c.Revoke(ctx, s.Inventory, s.observer(), t.ID, "orphan"); err != nil {
				errs = append(errs, fmt.Errorf("orphan: %w", err))
				continue
			}
			s.Log.Info("revoked orphaned token", "tokenID", t.ID, "name", t.Name)
			revoked++
		}
	}
	if len(errs) == 0 {
		s.reportDrift(ctx, live, sweptAt)
	}
	return revoked, errors.Join(errs...)
}

// reportDrift queues the CloudflareTokens whose current token no credential lists as live. It runs only
// after every credential was listed, so that a failed list is never read as a revoked token.
func (s *OrphanSweeper) reportDrift(ctx context.Context, live map[string]bool, sweptAt time.Time) {
	if s.Drifted == nil {
		return
	}
	list := &cfv1.CloudflareTokenList{}
	if err := s.Client.List(ctx, list); err != nil {
		return
	}
	for i := range list.Items {
		t := &list.Items[i]
		st := &t.Status
		// A token minted after the sweep began could not be in it.
		if st.TokenID == "" || live[st.TokenID] || st.IssuedAt == nil || !st.IssuedAt.Add(time.Second).Before(sweptAt) {
			continue
		}
		select {
		case s.Drifted <- event.TypedGenericEvent[client.Object]{Object: t}:
		case <-ctx.Done():
			return
		}
	}
}

// isOrphan: this cluster's mark, older than the grace period (or dead), and recorded by no CloudflareToken. A
// resource that still exists handles its own unrecorded tokens (it looks for them by name).
func (s *OrphanSweeper) isOrphan(t cloudflare.Token, recorded recordedTokens) bool {
	n, ok := tokenname.Parse(t.Name)
	if !ok || n.Cluster != s.ClusterHash {
		return false
	}
	if _, exists := recorded[n.UID]; exists {
		return false
	}
	// The grace period protects a mint under way; a dead token (expired, disabled, exposed) is never one,
	// and it holds quota: it goes at once.
	now := s.Clock.Now()
	return !t.IssuedOn.IsZero() && (now.Sub(t.IssuedOn) >= s.Grace || !inventory.IsLive(t, now))
}

func (s *OrphanSweeper) recorded(ctx context.Context) (recordedTokens, error) {
	list := &cfv1.CloudflareTokenList{}
	if err := s.Client.List(ctx, list); err != nil {
		return nil, fmt.Errorf("listing CloudflareTokens: %w", err)
	}
	out := recordedTokens{}
	for i := range list.Items {
		out[list.Items[i].UID] = list.Items[i].Status.RecordedTokenIDs()
	}
	return out, nil
}

// credentials are the distinct credentials of all issuers whose credential can be read, one client each.
func (s *OrphanSweeper) credentials(ctx context.Context) (map[string]issuerclient.Connection, error) {
	all, err := s.Issuers.List(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]issuerclient.Connection{}
	for _, iss := range all {
		if ok, _ := iss.Ready(); !ok {
			continue
		}
		conn, err := s.Issuers.Connect(ctx, iss)
		if err != nil {
			continue
		}
		if _, seen := out[conn.Key]; !seen {
			out[conn.Key] = conn
		}
	}
	return out, nil
}

func (s *OrphanSweeper) observer() observe.Observer { return observe.OrNop(s.Observer) }
