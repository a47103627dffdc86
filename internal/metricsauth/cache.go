package metricsauth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"
)

// ttlCache is a small expiring map with a hard size bound: when full it first drops what has expired and,
// failing that, starts over, so that a flood of made-up tokens or paths costs API requests, never memory.
type ttlCache[V any] struct {
	mu      sync.Mutex
	max     int
	entries map[string]cached[V]
}

type cached[V any] struct {
	value   V
	expires time.Time
}

func newTTLCache[V any](maxEntries int) *ttlCache[V] {
	return &ttlCache[V]{max: maxEntries, entries: map[string]cached[V]{}}
}

func (c *ttlCache[V]) get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

func (c *ttlCache[V]) put(key string, v V, now time.Time, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[key] = cached[V]{value: v, expires: now.Add(ttl)}
}

// tokenKey is what the cache keeps of a token: its digest, never the token.
func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// decisionKey names one user's request: everything a SubjectAccessReview is sent.
func decisionKey(user userInfo, verb, path string) string {
	b, _ := json.Marshal(struct {
		User       userInfo
		Verb, Path string
	}{user, verb, path})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
