package cloudflare

import (
	"context"
	"errors"
	"fmt"
	"strings"

	sdkzones "github.com/cloudflare/cloudflare-go/v7/zones"
)

// candidatePageSize bounds the one extra request made to suggest names for an unknown zone.
const candidatePageSize = 50

// ResolveZones maps zone names or 32-hex ids to zones, in order. Each reference costs at most one request
// per CacheTTL; an unknown name costs one more (once per CacheTTL) to suggest candidates.
func (c *sdkClient) ResolveZones(ctx context.Context, refs []string) ([]Zone, error) {
	const op = OpResolveZones
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	out := make([]Zone, 0, len(refs))
	for _, ref := range refs {
		z, err := c.resolveZone(ctx, op, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, z)
	}
	return out, nil
}

func (c *sdkClient) resolveZone(ctx context.Context, op Op, ref string) (Zone, error) {
	ref = strings.TrimSpace(ref)
	byID := isHexID(ref)
	key := normalizeZoneName(ref)
	if byID {
		key = strings.ToLower(ref)
	}
	if key == "" {
		return Zone{}, &Error{Op: op, Class: ClassInvalid, Message: "empty zone reference"}
	}
	if z, ok := c.cache.zone(key, c.clock.Now()); ok {
		return z, nil
	}
	var z Zone
	var err error
	if byID {
		z, err = c.zoneByID(ctx, op, key)
	} else {
		z, err = c.zoneByName(ctx, op, key)
	}
	if err != nil {
		return Zone{}, err
	}
	c.cache.putZone(z, c.clock.Now().Add(c.ttl))
	return z, nil
}

func (c *sdkClient) zoneByID(ctx context.Context, op Op, id string) (Zone, error) {
	var p sdkzones.ZoneGetParams
	p.ZoneID.Value, p.ZoneID.Present = id, true
	res, err := c.zones.Get(ctx, p)
	if err != nil {
		err = c.fail(ctx, op, err)
		var e *Error
		if errors.As(err, &e) && e.Class == ClassNotFound {
			e.Message = fmt.Sprintf("zone id %q not found", id)
		}
		return Zone{}, err
	}
	z := Zone{ID: res.ID, Name: res.Name, AccountID: res.Account.ID}
	if c.cfg.AccountID != "" && z.AccountID != "" && z.AccountID != c.cfg.AccountID {
		return Zone{}, &Error{Op: op, Class: ClassNotFound,
			Message: fmt.Sprintf("zone id %q (%s) belongs to another account than %s", id, z.Name, c.cfg.AccountID)}
	}
	return z, nil
}

func (c *sdkClient) zoneByName(ctx context.Context, op Op, name string) (Zone, error) {
	var p sdkzones.ZoneListParams
	p.Name.Value, p.Name.Present = name, true
	// A page of 5 (Cloudflare's minimum) is plenty: the name filter is an exact match.
	p.PerPage.Value, p.PerPage.Present = 5, true
	c.setAccountFilter(&p)
	page, err := c.zones.List(ctx, p)
	if err != nil {
		return Zone{}, c.fail(ctx, op, err)
	}
	for _, z := range page.Result {
		if normalizeZoneName(z.Name) == name {
			return Zone{ID: z.ID, Name: z.Name, AccountID: z.Account.ID}, nil
		}
	}
	e := &Error{Op: op, Class: ClassNotFound, Message: fmt.Sprintf("zone %q not found", name)}
	if c.cfg.AccountID != "" {
		e.Message += " in account " + c.cfg.AccountID
	}
	e.Candidates = closest(name, c.zoneCandidates(ctx))
	return Zone{}, e
}

// zoneCandidates lists (one page of) the zones the credential can see, to suggest names. Best effort: a token
// without account-wide zone rights may be refused an unfiltered list, and that must not fail the lookup.
func (c *sdkClient) zoneCandidates(ctx context.Context) []string {
	if names, ok := c.cache.getZoneNames(c.clock.Now()); ok {
		return names
	}
	var p sdkzones.ZoneListParams
	p.PerPage.Value, p.PerPage.Present = candidatePageSize, true
	c.setAccountFilter(&p)
	page, err := c.zones.List(ctx, p)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(page.Result))
	for _, z := range page.Result {
		names = append(names, z.Name)
	}
	c.cache.setZoneNames(names, c.clock.Now().Add(c.ttl))
	return names
}

func (c *sdkClient) setAccountFilter(p *sdkzones.ZoneListParams) {
	if c.cfg.AccountID == "" {
		return
	}
	var a sdkzones.ZoneListParamsAccount
	a.ID.Value, a.ID.Present = c.cfg.AccountID, true
	p.Account.Value, p.Account.Present = a, true
}

// normalizeZoneName lower-cases a name and drops a trailing dot (zone names are case-insensitive FQDNs).
func normalizeZoneName(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// isHexID reports whether s looks like a Cloudflare identifier (32 hex digits).
func isHexID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F') {
			return false
		}
	}
	return true
}
