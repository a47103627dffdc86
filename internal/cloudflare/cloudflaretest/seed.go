package cloudflaretest

import (
	"time"
)

// Policy is a token policy: permission-group ids and Cloudflare resource keys. A resource value is "*" or,
// for all zones of an account, a map of zone keys to "*" (map[string]string or map[string]any).
type Policy struct {
	Effect             string
	PermissionGroupIDs []string
	Resources          map[string]any
}

// SeedToken describes a token a test plants directly, bypassing validation and quotas: foreign tokens,
// orphans, parents with restricted rights, tokens with odd policies.
type SeedToken struct {
	Name                        string
	Owner                       string // "User" (default) | "Account"
	AccountID                   string // owning account of an account-owned token; default the first account
	Policies                    []Policy
	NotBefore, ExpiresOn        *time.Time
	RequestIPIn, RequestIPNotIn []string
	Status                      string // "active" (default) | "disabled" | "revoked (exposed)"
}

// Seed plants a token and returns its id and value.
func (s *Server) Seed(st SeedToken) (id, value string) {
	owner := st.Owner
	if owner == "" {
		owner = ownerUser
	}
	t := &token{name: st.Name, owner: owner, status: st.Status,
		ipIn: append([]string(nil), st.RequestIPIn...), ipNotIn: append([]string(nil), st.RequestIPNotIn...),
		notBefore: truncTime(st.NotBefore), expiresOn: truncTime(st.ExpiresOn)}
	if t.status == "" {
		t.status = statusActive
	}
	if owner == ownerAccount {
		t.account = st.AccountID
		if t.account == "" {
			t.account = s.accounts[0]
		}
	}
	for _, p := range st.Policies {
		t.policies = append(t.policies, policy{effect: p.Effect, groups: append([]string(nil), p.PermissionGroupIDs...),
			resources: normalizeResources(p.Resources)})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insertToken(t)
	return t.id, t.value
}

// insertToken gives the token its id, value, policy ids and issue time and stores it. Call with s.mu held.
func (s *Server) insertToken(t *token) {
	now := s.now().Truncate(time.Second)
	t.id = randomHex(32)
	t.issuedOn, t.modifiedOn = now, now
	s.issueSeq++
	t.seq = s.issueSeq
	for i := range t.policies {
		t.policies[i].id = randomHex(32)
	}
	s.tokens[t.id] = t
	s.setValue(t, newTokenValue(t.owner))
}

// setValue gives the token a new value; the old one stops working at once. Call with s.mu held.
func (s *Server) setValue(t *token, v string) {
	if t.value != "" {
		delete(s.byValue, t.value)
	}
	t.value = v
	s.byValue[v] = t
	s.allValues = append(s.allValues, v)
}

// deleteToken removes a token; its value stops working. Call with s.mu held.
func (s *Server) deleteToken(t *token) {
	delete(s.tokens, t.id)
	delete(s.byValue, t.value)
	s.oldValues[t.id] = t.value
}

func truncTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := t.UTC().Truncate(time.Second)
	return &c
}

// normalizeResources turns nested maps of any shape into map[string]string, the form policy evaluation reads.
func normalizeResources(in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		switch val := v.(type) {
		case map[string]any:
			m := map[string]string{}
			for mk, mv := range val {
				if s, ok := mv.(string); ok {
					m[mk] = s
				}
			}
			out[k] = m
		case map[string]string:
			m := make(map[string]string, len(val))
			for mk, mv := range val {
				m[mk] = mv
			}
			out[k] = m
		default:
			out[k] = v
		}
	}
	return out
}
