package cloudflaretest

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil/window"
)

// stats counts API requests per route and status, and keeps their times for MaxRequestsInWindow.
type stats struct {
	mu     sync.Mutex
	counts map[string]int // "METHOD route STATUS"
	times  []time.Time
}

func (st *stats) record(route string, status int, at time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.counts == nil {
		st.counts = map[string]int{}
	}
	st.counts[fmt.Sprintf("%s %d", route, status)]++
	st.times = append(st.times, at)
}

// RequestCount is how many requests hit the route ("POST /user/tokens", "GET /zones/{zone_id}"), any status.
func (s *Server) RequestCount(method, route string) int {
	prefix := method + " " + route + " "
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	n := 0
	for k, v := range s.stats.counts {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// RequestCounts maps "METHOD route STATUS" to a count.
func (s *Server) RequestCounts() map[string]int {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := make(map[string]int, len(s.stats.counts))
	for k, v := range s.stats.counts {
		out[k] = v
	}
	return out
}

// TotalRequests counts every API request (not the admin API).
func (s *Server) TotalRequests() int {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return len(s.stats.times)
}

// MaxRequestsInWindow is the most API requests seen in any window of this length, across all credentials.
func (s *Server) MaxRequestsInWindow(width time.Duration) int {
	s.stats.mu.Lock()
	times := append([]time.Time(nil), s.stats.times...)
	s.stats.mu.Unlock()
	return window.MaxIn(times, width)
}

// ResetCounts forgets the request counts (not the rate limiter's history).
func (s *Server) ResetCounts() {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.counts = nil
	s.stats.times = nil
}

// TokenInfo is a token as a test sees it; it never carries the value.
type TokenInfo struct {
	ID, Name, Owner, AccountID, Status string
	Policies                           []Policy
	RequestIPIn, RequestIPNotIn        []string
	IssuedOn                           time.Time
	NotBefore, ExpiresOn, LastUsedOn   *time.Time
}

func (s *Server) infoOf(t *token) TokenInfo {
	info := TokenInfo{ID: t.id, Name: t.name, Owner: t.owner, AccountID: t.account, Status: t.statusAt(s.now()),
		RequestIPIn: append([]string(nil), t.ipIn...), RequestIPNotIn: append([]string(nil), t.ipNotIn...),
		IssuedOn: t.issuedOn, NotBefore: copyTime(t.notBefore), ExpiresOn: copyTime(t.expiresOn),
		LastUsedOn: copyTime(t.lastUsedOn)}
	for _, p := range t.policies {
		info.Policies = append(info.Policies, Policy{Effect: p.effect, PermissionGroupIDs: append([]string(nil), p.groups...),
			Resources: copyResources(p.resources)})
	}
	return info
}

// Tokens are the live tokens (deleted ones are gone), parents included, in issue order.
func (s *Server) Tokens() []TokenInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	live := s.liveTokens(func(*token) bool { return true })
	out := make([]TokenInfo, 0, len(live))
	for _, t := range live {
		out = append(out, s.infoOf(t))
	}
	return out
}

// Token returns a live token.
func (s *Server) Token(id string) (TokenInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[id]
	if t == nil {
		return TokenInfo{}, false
	}
	return s.infoOf(t), true
}

// TokenValue is the current value of a token (the last one for a deleted token), "" when unknown. It exists
// in-process only; the admin API does not serve single values.
func (s *Server) TokenValue(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[id]; t != nil {
		return t.value
	}
	return s.oldValues[id]
}

// AllTokenValues is every value ever minted, parents, rolled and deleted ones included: leak tests search
// logs and events for them.
func (s *Server) AllTokenValues() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.allValues...)
}

// DNSRecord is a DNS record as a test sees it.
type DNSRecord struct{ ID, ZoneID, Type, Name, Content string }

// DNSRecords are the records of a zone, in creation order.
func (s *Server) DNSRecords(zoneID string) []DNSRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]DNSRecord, 0, len(s.records[zoneID]))
	for _, r := range s.records[zoneID] {
		out = append(out, DNSRecord{ID: r.id, ZoneID: r.zoneID, Type: r.typ, Name: r.name, Content: r.content})
	}
	return out
}

func (s *Server) liveTokens(keep func(*token) bool) []*token {
	out := []*token{}
	for _, t := range s.tokens {
		if keep(t) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func copyResources(in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		if m, ok := v.(map[string]string); ok {
			c := make(map[string]string, len(m))
			for mk, mv := range m {
				c[mk] = mv
			}
			out[k] = c
			continue
		}
		out[k] = v
	}
	return out
}
