package cloudflaretest

import (
	"net/http"
)

// listZones answers with the zones the caller may read. Without a name filter the caller needs Zone Read on
// all zones of the account (or of some account): Cloudflare refuses unfiltered lists to single-zone tokens
// with 403, code 0, "Actor '…' requires permission 'com.cloudflare.api.account.zone.list' to list zones".
func (s *Server) listZones(w http.ResponseWriter, r *http.Request, p principal) {
	page, perPage, ok := pageParams(w, r, 20, 5, 50)
	if !ok {
		return
	}
	q := r.URL.Query()
	name, acct, status := q.Get("name"), q.Get("account.id"), q.Get("status")
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == "" && !s.accountWideZoneRead(p, acct) {
		fail(w, http.StatusForbidden, codeZoneListForbidden,
			"Actor '%s' requires permission 'com.cloudflare.api.account.zone.list' to list zones", s.actor(p))
		return
	}
	var match []*zone
	for _, z := range s.zones {
		if (name != "" && z.name != name) || (acct != "" && z.account != acct) || (status != "" && status != "active") {
			continue
		}
		if s.may(p, capZoneRead, zoneRes(z)) {
			match = append(match, z)
		}
	}
	items, info := paginate(match, page, perPage)
	out := make([]map[string]any, 0, len(items))
	for _, z := range items {
		out = append(out, zoneJSON(z))
	}
	writeList(w, out, info)
}

func (s *Server) accountWideZoneRead(p principal, acct string) bool {
	accts := s.accounts
	if acct != "" {
		accts = []string{acct}
	}
	for _, a := range accts {
		if s.knownAccount(a) && s.may(p, capZoneRead, anyZoneOf(a)) {
			return true
		}
	}
	return false
}

// getZone needs Zone Read on the zone; a token without it learns nothing, not even whether the zone exists.
func (s *Server) getZone(w http.ResponseWriter, r *http.Request, p principal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zoneFor(w, r, p, capZoneRead)
	if ok {
		writeOK(w, zoneJSON(z))
	}
}

// zoneFor resolves the path's zone_id and checks the capability on it: 403 10000 without it, 404 7003 for a
// zone the caller could reach but that does not exist. Call with s.mu held.
func (s *Server) zoneFor(w http.ResponseWriter, r *http.Request, p principal, need capability) (*zone, bool) {
	id := r.PathValue("zone_id")
	z := s.zoneByID(id)
	res := unknownZoneRes(id)
	if z != nil {
		res = zoneRes(z)
	}
	if !s.may(p, need, res) {
		fail(w, http.StatusForbidden, codeAuthError, msgAuthError)
		return nil, false
	}
	if z == nil {
		fail(w, http.StatusNotFound, codeRouteNotFound, "Could not route to /zones/%s, perhaps your object identifier is invalid?", id)
		return nil, false
	}
	return z, true
}

func zoneJSON(z *zone) map[string]any {
	created := formatTime(z.created)
	return map[string]any{
		"id": z.id, "name": z.name, "status": "active", "paused": false, "type": "full", "development_mode": 0,
		"name_servers":          []string{"ada.ns.cloudflare.com", "bob.ns.cloudflare.com"},
		"original_name_servers": nil, "original_registrar": nil, "original_dnshost": nil,
		"created_on": created, "modified_on": created, "activated_on": created,
		"meta":    map[string]any{"step": 4, "custom_certificate_quota": 0, "page_rule_quota": 3, "phishing_detected": false},
		"owner":   map[string]any{"id": nil, "type": "user", "email": nil},
		"account": map[string]any{"id": z.account, "name": "Account " + z.account[:6]},
		"plan": map[string]any{
			"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website", "price": 0, "currency": "USD", "frequency": "",
			"is_subscribed": false, "can_subscribe": false, "legacy_id": "free", "legacy_discount": false, "externally_managed": false,
		},
	}
}

// getUser serves GET /user: the global key, or a user-owned token with "User Details Read".
func (s *Server) getUser(w http.ResponseWriter, r *http.Request, p principal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.may(p, capUserRead, userRes(s.userTag)) {
		fail(w, http.StatusForbidden, codeUnauthorized, msgUnauthorized)
		return
	}
	writeOK(w, map[string]any{"id": s.userTag, "email": s.email, "first_name": "Fake", "last_name": "User",
		"suspended": false, "two_factor_authentication_enabled": false, "has_pro_zones": false,
		"has_business_zones": false, "has_enterprise_zones": false, "betas": []string{}})
}

// actor names the caller as Cloudflare's permission errors do.
func (s *Server) actor(p principal) string {
	if p.globalKey {
		return "com.cloudflare.api.user." + s.userTag
	}
	return "com.cloudflare.api.token." + p.tok.id
}
