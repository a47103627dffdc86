package cloudflare

import (
	"sync"
	"time"
)

// lookupCache holds what a client resolved: zones, the zone names seen (for "did you mean"), and the
// permission-group catalogue. Entries expire after the factory's CacheTTL. Unknown names are not cached:
// a zone added at Cloudflare should resolve on the next try.
type lookupCache struct {
	mu        sync.Mutex
	zones     map[string]cachedZone
	zoneNames cachedList[string]
	groups    cachedList[PermissionGroup]

	// fetchGroups serializes catalogue fetches so that concurrent reconciles make one list call, not many.
	fetchGroups sync.Mutex
}

type cachedZone struct {
	zone    Zone
	expires time.Time
}

type cachedList[T any] struct {
	items   []T
	expires time.Time
}

func newLookupCache() *lookupCache { return &lookupCache{zones: map[string]cachedZone{}} }

func (c *lookupCache) zone(ref string, now time.Time) (Zone, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.zones[ref]
	if !ok || !now.Before(e.expires) {
		return Zone{}, false
	}
	return e.zone, true
}

// putZone caches z under its id and its name, so either reference hits afterwards.
func (c *lookupCache) putZone(z Zone, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.zones[z.ID] = cachedZone{zone: z, expires: expires}
	c.zones[normalizeZoneName(z.Name)] = cachedZone{zone: z, expires: expires}
}

func (c *lookupCache) getZoneNames(now time.Time) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.zoneNames.items, c.zoneNames.items != nil && now.Before(c.zoneNames.expires)
}

func (c *lookupCache) setZoneNames(names []string, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if names == nil {
		names = []string{}
	}
	c.zoneNames = cachedList[string]{items: names, expires: expires}
}

func (c *lookupCache) getGroups(now time.Time) ([]PermissionGroup, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.groups.items, c.groups.items != nil && now.Before(c.groups.expires)
}

func (c *lookupCache) setGroups(groups []PermissionGroup, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if groups == nil {
		groups = []PermissionGroup{}
	}
	c.groups = cachedList[PermissionGroup]{items: groups, expires: expires}
}
