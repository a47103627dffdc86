package cloudflaretest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// tokenBody is the create / update body. Pointers tell "absent" from "empty".
type tokenBody struct {
	Name      *string        `json:"name"`
	Policies  []policyBody   `json:"policies"`
	NotBefore *string        `json:"not_before"`
	ExpiresOn *string        `json:"expires_on"`
	Condition *conditionBody `json:"condition"`
	Status    *string        `json:"status"`
}

// conditionBody accepts both spellings: the SDK and schema say request_ip, Cloudflare's curl examples
// request.ip.
type conditionBody struct {
	RequestIP    *ipBody `json:"request_ip"`
	RequestIPDot *ipBody `json:"request.ip"`
}

type ipBody struct {
	In    []string `json:"in"`
	NotIn []string `json:"not_in"`
}

type policyBody struct {
	// ID is refused on create: Cloudflare does not reuse policies.
	ID               *string `json:"id"`
	Effect           string  `json:"effect"`
	PermissionGroups []struct {
		ID string `json:"id"`
	} `json:"permission_groups"`
	Resources map[string]json.RawMessage `json:"resources"`
}

const maxBody = 1 << 20

// decodeJSON reads a JSON object body whatever the Content-Type says (cert-manager sends none).
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		fail(w, http.StatusBadRequest, codeMalformedJSON, "Malformed JSON in request body")
		return false
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		fail(w, http.StatusBadRequest, codeMalformedJSON, "Malformed JSON in request body")
		return false
	}
	return true
}

func decodeTokenBody(w http.ResponseWriter, r *http.Request) (tokenBody, bool) {
	var b tokenBody
	return b, decodeJSON(w, r, &b)
}

// validateTokenBody checks a create or update body and builds the token it describes (no id, value or
// policy ids yet). The first problem is answered with 400 naming the field. Call with s.mu held.
func (s *Server) validateTokenBody(w http.ResponseWriter, b tokenBody, own owner, update bool) (*token, bool) {
	bad := func(format string, args ...any) (*token, bool) {
		fail(w, http.StatusBadRequest, codeInvalidRequest, format, args...)
		return nil, false
	}
	if b.Name == nil || strings.TrimSpace(*b.Name) == "" {
		return bad("name: required")
	}
	if n := utf8.RuneCountInString(*b.Name); n > 120 {
		return bad("name: must be at most 120 characters, got %d", n)
	}
	if len(b.Policies) == 0 {
		return bad("policies: at least one policy is required")
	}
	t := &token{name: *b.Name, owner: own.name(), account: own.account}
	for _, pb := range b.Policies {
		if pb.ID != nil && !update {
			fail(w, http.StatusBadRequest, codeReusedPolicy, "Reusing existing policies is not supported")
			return nil, false
		}
	}
	for i, pb := range b.Policies {
		p, msg := s.validatePolicy(pb, own)
		if msg != "" {
			return bad("policies[%d]: %s", i, msg)
		}
		t.policies = append(t.policies, p)
	}
	var err error
	if t.notBefore, err = parseTime(b.NotBefore); err != nil {
		return bad("not_before: %v", err)
	}
	if t.expiresOn, err = parseTime(b.ExpiresOn); err != nil {
		return bad("expires_on: %v", err)
	}
	if t.expiresOn != nil && !t.expiresOn.After(s.now()) {
		return bad("expires_on: must be in the future")
	}
	if t.expiresOn != nil && t.notBefore != nil && !t.expiresOn.After(*t.notBefore) {
		return bad("expires_on: must be after not_before")
	}
	if b.Condition != nil {
		ip := b.Condition.RequestIP
		if ip == nil {
			ip = b.Condition.RequestIPDot
		}
		if ip != nil {
			for _, list := range [][]string{ip.In, ip.NotIn} {
				for _, c := range list {
					// A bare address is refused: Cloudflare wants CIDR notation even for one host.
					if _, _, err := net.ParseCIDR(c); err != nil {
						return bad("condition.request_ip: %q is not in CIDR notation (for one address use e.g. 192.168.0.1/32)", c)
					}
				}
			}
			t.ipIn, t.ipNotIn = append([]string(nil), ip.In...), append([]string(nil), ip.NotIn...)
		}
	}
	if b.Status != nil {
		if !update || (*b.Status != statusActive && *b.Status != statusDisabled) {
			return bad("status: must be active or disabled")
		}
		t.status = *b.Status
	} else if !update {
		t.status = statusActive
	}
	return t, true
}

func parseTime(v *string) (*time.Time, error) {
	if v == nil || *v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, *v)
	if err != nil {
		return nil, fmt.Errorf("%q is not an RFC 3339 time", *v)
	}
	t = t.UTC().Truncate(time.Second)
	return &t, nil
}

// validatePolicy checks effect, permission groups (known ids) and resources (well-formed keys naming this
// user's accounts and zones, of the scope each permission group needs). An account-owned token may only
// name its own account and its zones.
func (s *Server) validatePolicy(pb policyBody, own owner) (policy, string) {
	if pb.Effect != "allow" && pb.Effect != "deny" {
		return policy{}, fmt.Sprintf("effect must be allow or deny, got %q", pb.Effect)
	}
	if len(pb.PermissionGroups) == 0 {
		return policy{}, "permission_groups: at least one is required"
	}
	p := policy{effect: pb.Effect, resources: map[string]any{}}
	var groups []permissionGroup
	for j, g := range pb.PermissionGroups {
		pg, ok := groupByID(g.ID)
		if !ok {
			return policy{}, fmt.Sprintf("permission_groups[%d]: unknown permission group id %q", j, g.ID)
		}
		if own.kind == accountOwned && contains(pg.Scopes, ScopeUser) {
			return policy{}, fmt.Sprintf("permission_groups[%d]: %q is user-scoped and cannot be given to an account-owned token", j, pg.Name)
		}
		p.groups = append(p.groups, g.ID)
		groups = append(groups, pg)
	}
	if len(pb.Resources) == 0 {
		return policy{}, "resources: at least one resource is required"
	}
	for key, raw := range pb.Resources {
		scope, val, msg := s.validateResource(key, raw, own)
		if msg != "" {
			return policy{}, "resources: " + msg
		}
		for _, g := range groups {
			if !contains(g.Scopes, scope) {
				return policy{}, fmt.Sprintf("resources: permission group %q (scopes %v) does not apply to resource %q", g.Name, g.Scopes, key)
			}
		}
		p.resources[key] = val
	}
	return p, ""
}

// validateResource returns the scope a resource key belongs to and its stored value.
func (s *Server) validateResource(key string, raw json.RawMessage, own owner) (string, any, string) {
	var star string
	if err := json.Unmarshal(raw, &star); err == nil {
		if star != "*" {
			return "", nil, fmt.Sprintf("%q: value must be \"*\" or an object of zone keys", key)
		}
		switch {
		case strings.HasPrefix(key, keyZone):
			id := strings.TrimPrefix(key, keyZone)
			if id == "*" {
				return ScopeZone, "*", ""
			}
			z := s.zoneByID(id)
			if z == nil || (own.kind == accountOwned && z.account != own.account) {
				return "", nil, fmt.Sprintf("%q: unknown zone", key)
			}
			return ScopeZone, "*", ""
		case strings.HasPrefix(key, keyAccount):
			id := strings.TrimPrefix(key, keyAccount)
			if (id == "*" && own.kind == userOwned) || (s.knownAccount(id) && (own.kind == userOwned || id == own.account)) {
				return ScopeAccount, "*", ""
			}
			return "", nil, fmt.Sprintf("%q: unknown account", key)
		case strings.HasPrefix(key, keyUser):
			if own.kind == userOwned && strings.TrimPrefix(key, keyUser) == s.userTag {
				return ScopeUser, "*", ""
			}
			return "", nil, fmt.Sprintf("%q: unknown user", key)
		}
		return "", nil, fmt.Sprintf("%q: not a resource key", key)
	}
	var nested map[string]string
	if err := json.Unmarshal(raw, &nested); err != nil || len(nested) == 0 {
		return "", nil, fmt.Sprintf("%q: value must be \"*\" or an object of zone keys", key)
	}
	acct := strings.TrimPrefix(key, keyAccount)
	if !strings.HasPrefix(key, keyAccount) || strings.HasPrefix(key, keyZone) || !s.knownAccount(acct) ||
		(own.kind == accountOwned && acct != own.account) {
		return "", nil, fmt.Sprintf("%q: nested zone keys need a known account key", key)
	}
	for zk, zv := range nested {
		if zv != "*" || !strings.HasPrefix(zk, keyZone) {
			return "", nil, fmt.Sprintf("%q: nested key %q must be a zone key with value \"*\"", key, zk)
		}
		if id := strings.TrimPrefix(zk, keyZone); id != "*" {
			if z := s.zoneByID(id); z == nil || z.account != acct {
				return "", nil, fmt.Sprintf("%q: zone %q is not in this account", key, zk)
			}
		}
	}
	return ScopeZone, nested, ""
}
