package cloudflare

import (
	"context"
	"fmt"
	"strings"

	sdkaccounts "github.com/cloudflare/cloudflare-go/v7/accounts"
	sdkuser "github.com/cloudflare/cloudflare-go/v7/user"
)

// scopePreference is the order in which a name found at several scopes is resolved when no scope is asked
// for: the zone scope first (what DNS and zone permissions are for), then the account scope, then the user.
var scopePreference = []string{ScopeZone, ScopeAccount, ScopeUser}

// ResolvePermissionGroups maps permission-group ids or names to groups, in order. A name that exists at
// several scopes resolves to its zone-scoped group if there is one, else its account-scoped one, else its
// user-scoped one. The catalogue is listed once per CacheTTL.
func (c *sdkClient) ResolvePermissionGroups(ctx context.Context, refs []string) ([]PermissionGroup, error) {
	return c.ResolvePermissionGroupsScoped(ctx, refs, "")
}

// ResolvePermissionGroupsScoped is ResolvePermissionGroups where a name found at several scopes resolves to
// its group of scope preferScope when that exists (else by the default rule). An id always resolves to itself.
func (c *sdkClient) ResolvePermissionGroupsScoped(ctx context.Context, refs []string, preferScope string) ([]PermissionGroup, error) {
	const op = OpResolvePermissionGroups
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	catalogue, err := c.permissionGroups(ctx, op)
	if err != nil {
		return nil, err
	}
	out := make([]PermissionGroup, 0, len(refs))
	var unknown []string
	var candidates []string
	for _, ref := range refs {
		g, ok := pickGroup(catalogue, strings.TrimSpace(ref), preferScope)
		if !ok {
			if unknown == nil {
				candidates = closest(ref, groupNames(catalogue))
			}
			unknown = append(unknown, fmt.Sprintf("%q", ref))
			continue
		}
		out = append(out, g)
	}
	if unknown != nil {
		msg := "unknown permission group " + unknown[0]
		if len(unknown) > 1 {
			msg = "unknown permission groups " + strings.Join(unknown, ", ")
		}
		if len(candidates) > 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", candidates)
		}
		return nil, &Error{Op: op, Class: ClassNotFound, Message: msg, Candidates: candidates}
	}
	return out, nil
}

// pickGroup finds ref by id, then by exact name, then by case-insensitive name.
func pickGroup(catalogue []PermissionGroup, ref, preferScope string) (PermissionGroup, bool) {
	if ref == "" {
		return PermissionGroup{}, false
	}
	for _, g := range catalogue {
		if g.ID == ref {
			return g, true
		}
	}
	var named []PermissionGroup
	for _, g := range catalogue {
		if g.Name == ref {
			named = append(named, g)
		}
	}
	if named == nil {
		for _, g := range catalogue {
			if strings.EqualFold(g.Name, ref) {
				named = append(named, g)
			}
		}
	}
	if named == nil {
		return PermissionGroup{}, false
	}
	order := scopePreference
	if preferScope != "" {
		order = append([]string{preferScope}, scopePreference...)
	}
	for _, scope := range order {
		for _, g := range named {
			if hasScope(g, scope) {
				return g, true
			}
		}
	}
	return named[0], true
}

func hasScope(g PermissionGroup, scope string) bool {
	for _, s := range g.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

func groupNames(gs []PermissionGroup) []string {
	seen := make(map[string]bool, len(gs))
	names := make([]string, 0, len(gs))
	for _, g := range gs {
		if !seen[g.Name] {
			seen[g.Name] = true
			names = append(names, g.Name)
		}
	}
	return names
}

// permissionGroups returns the cached catalogue, listing it when stale. Account-owned issuers read the
// account's catalogue (which carries the account's own groups); user-owned ones the user's.
func (c *sdkClient) permissionGroups(ctx context.Context, op Op) ([]PermissionGroup, error) {
	if gs, ok := c.cache.getGroups(c.clock.Now()); ok {
		return gs, nil
	}
	c.cache.fetchGroups.Lock()
	defer c.cache.fetchGroups.Unlock()
	if gs, ok := c.cache.getGroups(c.clock.Now()); ok {
		return gs, nil // fetched by a concurrent caller while we waited
	}
	var gs []PermissionGroup
	if c.cfg.Owner == OwnerAccount {
		var p sdkaccounts.TokenPermissionGroupListParams
		p.AccountID.Value, p.AccountID.Present = c.cfg.AccountID, true
		page, err := c.accounts.Tokens.PermissionGroups.List(ctx, p)
		if err != nil {
			return nil, c.fail(ctx, op, err)
		}
		for _, g := range page.Result {
			pg := PermissionGroup{ID: g.ID, Name: g.Name}
			for _, s := range g.Scopes {
				pg.Scopes = append(pg.Scopes, string(s))
			}
			gs = append(gs, pg)
		}
	} else {
		page, err := c.users.Tokens.PermissionGroups.List(ctx, sdkuser.TokenPermissionGroupListParams{})
		if err != nil {
			return nil, c.fail(ctx, op, err)
		}
		for _, g := range page.Result {
			pg := PermissionGroup{ID: g.ID, Name: g.Name}
			for _, s := range g.Scopes {
				pg.Scopes = append(pg.Scopes, string(s))
			}
			gs = append(gs, pg)
		}
	}
	c.cache.setGroups(gs, c.clock.Now().Add(c.ttl))
	return gs, nil
}
