package cloudflaretest

import (
	"net/http"
	"strconv"
	"time"
)

// ownerKind selects the user-owned (/user/tokens) or account-owned (/accounts/{account_id}/tokens) family.
type ownerKind int

const (
	userOwned ownerKind = iota
	accountOwned
)

func (o ownerKind) basePath() string {
	if o == userOwned {
		return "/user/tokens"
	}
	return "/accounts/{account_id}/tokens"
}

// owner is the resolved owner of a token family for one request.
type owner struct {
	kind    ownerKind
	account string
}

func (o owner) name() string {
	if o.kind == userOwned {
		return ownerUser
	}
	return ownerAccount
}

func (o owner) holds(t *token) bool {
	if o.kind == userOwned {
		return t.owner == ownerUser
	}
	return t.owner == ownerAccount && t.account == o.account
}

// tokenAccess authorizes a token-management call: "API Tokens Read/Write" on the user, or "Account API
// Tokens Read/Write" on the account. Refusals are 403 9109, as Cloudflare answers token creation without the
// right. Call with s.mu held.
func (s *Server) tokenAccess(w http.ResponseWriter, r *http.Request, p principal, o ownerKind, write bool) (owner, bool) {
	if o == userOwned {
		need := capUserTokensRead
		if write {
			need = capUserTokensWrite
		}
		if !s.may(p, need, userRes(s.userTag)) {
			fail(w, http.StatusForbidden, codeUnauthorized, msgUnauthorized)
			return owner{}, false
		}
		return owner{kind: userOwned}, true
	}
	acct := r.PathValue("account_id")
	need := capAccountTokensRead
	if write {
		need = capAccountTokensWrite
	}
	if !s.knownAccount(acct) || !s.may(p, need, accountRes(acct)) {
		fail(w, http.StatusForbidden, codeUnauthorized, msgUnauthorized)
		return owner{}, false
	}
	return owner{kind: accountOwned, account: acct}, true
}

func (s *Server) createToken(o ownerKind) handler {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		body, ok := decodeTokenBody(w, r)
		if !ok {
			return
		}
		s.mu.Lock()
		own, ok := s.tokenAccess(w, r, p, o, true)
		if !ok {
			s.mu.Unlock()
			return
		}
		t, ok := s.validateTokenBody(w, body, own, false)
		if !ok {
			s.mu.Unlock()
			return
		}
		quota := s.cfg.userQuota
		if own.kind == accountOwned {
			quota = s.cfg.accountQuota
		}
		if held := len(s.liveTokens(own.holds)); held >= quota {
			s.mu.Unlock()
			s.quotaExceeded(w, own, quota)
			return
		}
		s.insertToken(t)
		out := s.tokenJSON(t)
		out["value"] = t.value
		s.mu.Unlock()
		if s.faults.takeLostCreate() {
			// The token exists; only the answer is lost.
			fail(w, http.StatusInternalServerError, codeInternal, "Internal Server Error")
			return
		}
		writeOK(w, out)
	}
}

func (s *Server) listTokens(o ownerKind) handler {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		page, perPage, ok := pageParams(w, r, 20, 5, 50)
		if !ok {
			return
		}
		dir := r.URL.Query().Get("direction")
		if dir != "" && dir != "asc" && dir != "desc" {
			fail(w, http.StatusBadRequest, codeInvalidRequest, "direction must be asc or desc")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		own, ok := s.tokenAccess(w, r, p, o, false)
		if !ok {
			return
		}
		now, include := s.now(), r.URL.Query().Get("include_expired") == "true"
		all := s.liveTokens(func(t *token) bool { return own.holds(t) && t.listed(now, include, s.cfg.recentlyExpired) })
		if dir == "desc" {
			for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
				all[i], all[j] = all[j], all[i]
			}
		}
		items, info := paginate(all, page, perPage)
		out := make([]map[string]any, 0, len(items))
		for _, t := range items {
			out = append(out, s.tokenJSON(t))
		}
		writeList(w, out, info)
	}
}

// accessibleToken checks the caller's right to the owner's tokens and finds the token of the path; it has
// answered the request when ok is false. Callers hold s.mu.
func (s *Server) accessibleToken(w http.ResponseWriter, r *http.Request, p principal, o ownerKind, write bool) (owner, *token, bool) {
	own, ok := s.tokenAccess(w, r, p, o, write)
	if !ok {
		return own, nil, false
	}
	t := s.lookup(w, r, own)
	return own, t, t != nil
}

// lookup finds a token of the owner by the path's token_id, or answers 404. Call with s.mu held.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, own owner) *token {
	t := s.tokens[r.PathValue("token_id")]
	if t == nil || !own.holds(t) {
		s.tokenNotFound(w, r)
		return nil
	}
	return t
}

func (s *Server) getToken(o ownerKind) handler {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		s.mu.Lock()
		defer s.mu.Unlock()
		own, ok := s.tokenAccess(w, r, p, o, false)
		if !ok {
			return
		}
		if t := s.lookup(w, r, own); t != nil {
			writeOK(w, s.tokenJSON(t))
		}
	}
}

// updateToken is a full replace: fields left out (condition, not_before, expires_on) are cleared; status
// stays unless given.
func (s *Server) updateToken(o ownerKind) handler {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		body, ok := decodeTokenBody(w, r)
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		own, t, ok := s.accessibleToken(w, r, p, o, true)
		if !ok {
			return
		}
		repl, ok := s.validateTokenBody(w, body, own, true)
		if !ok {
			return
		}
		for i := range repl.policies {
			repl.policies[i].id = randomHex(32)
		}
		t.name, t.policies, t.ipIn, t.ipNotIn = repl.name, repl.policies, repl.ipIn, repl.ipNotIn
		t.notBefore, t.expiresOn = repl.notBefore, repl.expiresOn
		if repl.status != "" {
			t.status = repl.status
		}
		t.modifiedOn = s.now().Truncate(time.Second)
		writeOK(w, s.tokenJSON(t))
	}
}

func (s *Server) deleteTokenHandler(o ownerKind) handler {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		s.mu.Lock()
		defer s.mu.Unlock()
		own, ok := s.tokenAccess(w, r, p, o, true)
		if !ok {
			return
		}
		if t := s.lookup(w, r, own); t != nil {
			s.deleteToken(t)
			writeOK(w, map[string]any{"id": t.id})
		}
	}
}

// rollToken gives the token a new value; the old value stops working at once.
func (s *Server) rollToken(o ownerKind) handler {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		var body map[string]any
		if !decodeJSON(w, r, &body) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		_, t, ok := s.accessibleToken(w, r, p, o, true)
		if !ok {
			return
		}
		s.setValue(t, newTokenValue(t.owner))
		if t.status == statusExposed {
			t.status = statusActive // the leaked value is dead; the new one is not (assumed: "roll or delete them")
		}
		t.modifiedOn = s.now().Truncate(time.Second)
		writeOK(w, t.value)
	}
}

// verifyToken answers for the caller's own token. /user/tokens/verify does not know account-owned tokens
// (reported: "Invalid API Token"); they verify under their account. A global key is no token at all.
func (s *Server) verifyToken(o ownerKind) handler {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		if p.globalKey {
			writeErr(w, http.StatusBadRequest, badHeaders(codeBadAuthFormat, "Invalid format for Authorization header").err)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		t := p.tok
		if (o == userOwned && t.owner != ownerUser) ||
			(o == accountOwned && (t.owner != ownerAccount || t.account != r.PathValue("account_id"))) {
			writeErr(w, invalidToken.status, invalidToken.err)
			return
		}
		out := map[string]any{"id": t.id, "status": t.statusAt(s.now())}
		if t.notBefore != nil {
			out["not_before"] = formatTime(*t.notBefore)
		}
		if t.expiresOn != nil {
			out["expires_on"] = formatTime(*t.expiresOn)
		}
		writeOK(w, out)
	}
}

// listPermissionGroups filters by exact name and by scope. The account endpoint offers no user-scoped
// groups, which account-owned tokens cannot hold.
func (s *Server) listPermissionGroups(o ownerKind) handler {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		s.mu.Lock()
		_, ok := s.tokenAccess(w, r, p, o, false)
		s.mu.Unlock()
		if !ok {
			return
		}
		name, scope := r.URL.Query().Get("name"), r.URL.Query().Get("scope")
		out := []permissionGroup{}
		for _, g := range catalogue {
			if o == accountOwned && contains(g.Scopes, ScopeUser) {
				continue
			}
			if (name != "" && g.Name != name) || (scope != "" && !contains(g.Scopes, scope)) {
				continue
			}
			out = append(out, g)
		}
		writeOK(w, out)
	}
}

// tokenJSON renders a token as Cloudflare does, without its value. Call with s.mu held.
func (s *Server) tokenJSON(t *token) map[string]any {
	out := map[string]any{
		"id": t.id, "name": t.name, "status": t.statusAt(s.now()),
		"issued_on": formatTime(t.issuedOn), "modified_on": formatTime(t.modifiedOn),
	}
	if t.lastUsedOn != nil {
		out["last_used_on"] = formatTime(*t.lastUsedOn)
	}
	if t.notBefore != nil {
		out["not_before"] = formatTime(*t.notBefore)
	}
	if t.expiresOn != nil {
		out["expires_on"] = formatTime(*t.expiresOn)
	}
	pols := make([]map[string]any, 0, len(t.policies))
	for _, p := range t.policies {
		groups := []map[string]any{}
		for _, id := range p.groups {
			g := map[string]any{"id": id}
			if pg, ok := groupByID(id); ok {
				g["name"] = pg.Name
			}
			groups = append(groups, g)
		}
		pols = append(pols, map[string]any{"id": p.id, "effect": p.effect, "permission_groups": groups, "resources": p.resources})
	}
	out["policies"] = pols
	cond := map[string]any{}
	if len(t.ipIn) > 0 || len(t.ipNotIn) > 0 {
		ip := map[string]any{}
		if len(t.ipIn) > 0 {
			ip["in"] = t.ipIn
		}
		if len(t.ipNotIn) > 0 {
			ip["not_in"] = t.ipNotIn
		}
		cond["request_ip"] = ip
	}
	out["condition"] = cond
	return out
}

func formatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// pageParams reads page and per_page; values out of range are refused rather than clamped, so that a client
// that asks for too much notices.
func pageParams(w http.ResponseWriter, r *http.Request, def, lo, hi int) (page, perPage int, ok bool) {
	q := r.URL.Query()
	page, perPage = 1, def
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fail(w, http.StatusBadRequest, codeInvalidRequest, "page must be a positive integer")
			return 0, 0, false
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			fail(w, http.StatusBadRequest, codeInvalidRequest, "per_page must be an integer from %d to %d", lo, hi)
			return 0, 0, false
		}
		perPage = n
	}
	return page, perPage, true
}

func lower(s string) string {
	if s == ownerUser {
		return "user"
	}
	return "account"
}
