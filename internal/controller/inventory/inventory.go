// Package inventory is the operator's per-owner memory of Cloudflare's token lists, keyed by
// cloudflare.ConfigKey (the key the factory gives the owner's client): what every controller asks instead of
// calling Cloudflare once per token.
package inventory

import (
	"context"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// Inventory remembers, per credential, which tokens Cloudflare listed at the last sweep. Drift (a token
// revoked, disabled or expired out of band) is found by one paged list per credential per interval,
// shared by every CloudflareToken, never by one GET per token per pass.
type Inventory struct {
	Interval time.Duration
	Clock    clock.PassiveClock

	mu    sync.Mutex
	lists map[string]*tokenList
}

type tokenList struct {
	mu       sync.Mutex // held during a sweep, so that concurrent askers share it
	sweptAt  time.Time
	byID     map[string]cloudflare.Token
	reserved int // creates under way
}

// New returns an empty inventory; the first question about a credential sweeps it.
func New(interval time.Duration, clk clock.PassiveClock) *Inventory {
	return &Inventory{Interval: interval, Clock: clk, lists: map[string]*tokenList{}}
}

func (inv *Inventory) list(key string) *tokenList {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	l, ok := inv.lists[key]
	if !ok {
		l = &tokenList{byID: map[string]cloudflare.Token{}}
		inv.lists[key] = l
	}
	return l
}

// Live reports whether the token is active and unexpired as far as the inventory knows, sweeping first
// when the last sweep is older than the interval. A token issued after the last sweep counts as live:
// the sweep could not have seen it.
func (inv *Inventory) Live(ctx context.Context, key string, cl cloudflare.Client, id string, issuedAt time.Time) (bool, error) {
	l := inv.list(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := inv.Clock.Now()
	if now.Sub(l.sweptAt) >= inv.Interval {
		if err := l.sweep(ctx, cl, now); err != nil {
			return false, err
		}
	}
	// Status times have whole seconds; a second of slack keeps a token minted just after a sweep began
	// from looking gone.
	if issuedAt.Add(time.Second).After(l.sweptAt) {
		return true, nil
	}
	t, ok := l.byID[id]
	return ok && IsLive(t, now), nil
}

// Sweep lists the credential's tokens now, whatever the age of the last sweep, and returns them.
func (inv *Inventory) Sweep(ctx context.Context, key string, cl cloudflare.Client) ([]cloudflare.Token, error) {
	l := inv.list(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.sweep(ctx, cl, inv.Clock.Now()); err != nil {
		return nil, err
	}
	out := make([]cloudflare.Token, 0, len(l.byID))
	for _, t := range l.byID {
		out = append(out, t)
	}
	return out, nil
}

// Lookup finds a token in the owner's list: the last sweep's, unless it is older than the interval or
// fresh is asked for. listed is false when the owner's list does not have it.
func (inv *Inventory) Lookup(ctx context.Context, key string, cl cloudflare.Client, id string, fresh bool) (
	t cloudflare.Token, listed bool, err error) {
	l := inv.list(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := inv.Clock.Now(); fresh || now.Sub(l.sweptAt) >= inv.Interval {
		if err := l.sweep(ctx, cl, now); err != nil {
			return cloudflare.Token{}, false, err
		}
	}
	t, listed = l.byID[id]
	return t, listed, nil
}

// Count is how many tokens the credential held at the last sweep, and whether a sweep has happened.
func (inv *Inventory) Count(key string) (int, bool) {
	l := inv.list(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byID), !l.sweptAt.IsZero()
}

// Reserve takes a slot for a token about to be created, if the owner holds (with the creates under way)
// fewer than limit tokens. The count comes from a sweep no older than the interval, so that tokens the
// operator did not make count too. release gives the slot back; call it after Add, or after a failed create.
func (inv *Inventory) Reserve(ctx context.Context, key string, cl cloudflare.Client, limit int) (release func(), held int, err error) {
	l := inv.list(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	if inv.Clock.Now().Sub(l.sweptAt) >= inv.Interval {
		// Tokens deleted or made elsewhere change the count: a stale one could refuse forever.
		if err := l.sweep(ctx, cl, inv.Clock.Now()); err != nil {
			return nil, 0, err
		}
	}
	held = len(l.byID) + l.reserved
	if held >= limit {
		return nil, held, nil
	}
	l.reserved++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.reserved--
		})
	}, held, nil
}

// Add records a token the operator just minted.
func (inv *Inventory) Add(key string, t cloudflare.Token) {
	l := inv.list(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byID[t.ID] = t
}

// Forget drops a token the operator just revoked.
func (inv *Inventory) Forget(key, id string) {
	l := inv.list(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.byID, id)
}

func (l *tokenList) sweep(ctx context.Context, cl cloudflare.Client, now time.Time) error {
	tokens, err := cl.ListTokens(ctx)
	if err != nil {
		return err
	}
	l.byID = make(map[string]cloudflare.Token, len(tokens))
	for _, t := range tokens {
		l.byID[t.ID] = t
	}
	l.sweptAt = now
	return nil
}

// IsLive: active, and unexpired at now. Any other status is dead.
func IsLive(t cloudflare.Token, now time.Time) bool {
	if t.Status != cloudflare.StatusActive {
		return false
	}
	return t.ExpiresOn == nil || now.Before(*t.ExpiresOn)
}
