package inventory

import "github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"

// Peek is the last sweep's record of a token, without listing: what a pass reads after Live or Lookup has
// brought the owner's list up to date, so that it costs no request. listed is false when the last sweep (or
// a mint since) does not have the token.
func (inv *Inventory) Peek(key, id string) (t cloudflare.Token, listed bool) {
	l := inv.list(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	t, listed = l.byID[id]
	return t, listed
}
