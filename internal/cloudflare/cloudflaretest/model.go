package cloudflaretest

import (
	"strings"
	"time"
)

const (
	ownerUser    = "User"
	ownerAccount = "Account"
)

// Resource key prefixes.
const (
	keyZone    = "com.cloudflare.api.account.zone."
	keyAccount = "com.cloudflare.api.account."
	keyUser    = "com.cloudflare.api.user."
)

type zone struct {
	id, name, account string
	created           time.Time
}

// blockedTLD reports whether Cloudflare refuses DNS writes through the API for this zone (Freenom TLDs).
func (z *zone) blockedTLD() bool {
	for _, tld := range []string{".cf", ".ga", ".gq", ".ml", ".tk"} {
		if strings.HasSuffix(z.name, tld) {
			return true
		}
	}
	return false
}

// policy is a stored token policy. Resource values are "*" or, for the nested all-zones-of-an-account form,
// map[string]string.
type policy struct {
	id        string
	effect    string
	groups    []string
	resources map[string]any
}

type token struct {
	id, name   string
	owner      string // ownerUser | ownerAccount
	account    string // owning account of an account-owned token
	status     string // active | disabled | revoked (exposed); expired is computed
	policies   []policy
	ipIn       []string
	ipNotIn    []string
	issuedOn   time.Time
	modifiedOn time.Time
	lastUsedOn *time.Time
	notBefore  *time.Time
	expiresOn  *time.Time
	value      string
	seq        int
}

// Token statuses. Cloudflare deactivates a token found leaked in public at once, with statusExposed; such a
// token still exists (it can be rolled or deleted) and counts against the quota.
const (
	statusActive   = "active"
	statusDisabled = "disabled"
	statusExpired  = "expired"
	statusExposed  = "revoked (exposed)"
)

// statusAt is the status Cloudflare reports: a stored status other than active wins (disabled, revoked
// (exposed)), then expired once expires_on has passed.
func (t *token) statusAt(now time.Time) string {
	if t.status != statusActive {
		return t.status
	}
	if t.expiresOn != nil && !now.Before(*t.expiresOn) {
		return statusExpired
	}
	return statusActive
}

// listed says whether a list shows the token: expired tokens only with include_expired, and then only those
// that expired within recent (Cloudflare: "includes recently expired tokens").
func (t *token) listed(now time.Time, includeExpired bool, recent time.Duration) bool {
	if t.statusAt(now) != statusExpired {
		return true
	}
	return includeExpired && now.Sub(*t.expiresOn) <= recent
}

type dnsRecord struct {
	id, zoneID, zoneName  string
	typ, name, content    string
	ttl                   int
	proxied               bool
	createdOn, modifiedOn time.Time
}

func (s *Server) seedZones() {
	now := s.now().Truncate(time.Second)
	for _, acct := range s.accounts {
		for _, name := range s.cfg.zones[acct] {
			s.zones = append(s.zones, &zone{id: hexID("zone", acct+"/"+name), name: name, account: acct, created: now})
		}
	}
	// Zones given for accounts not in WithAccounts still belong to the user: add those accounts.
	for _, acct := range sortedKeys(s.cfg.zones) {
		if !contains(s.accounts, acct) {
			s.accounts = append(s.accounts, acct)
			for _, name := range s.cfg.zones[acct] {
				s.zones = append(s.zones, &zone{id: hexID("zone", acct+"/"+name), name: name, account: acct, created: now})
			}
		}
	}
}

func allZonesOf(acct string) map[string]any {
	return map[string]any{keyAccount + acct: map[string]string{keyZone + "*": "*"}}
}

func (s *Server) seedParents() {
	userPolicies := make([]Policy, 0, 1+2*len(s.accounts))
	userPolicies = append(userPolicies, Policy{Effect: "allow", PermissionGroupIDs: []string{PermAPITokensWrite, PermUserDetailsRead},
		Resources: map[string]any{keyUser + s.userTag: "*"}})
	for _, acct := range s.accounts {
		userPolicies = append(userPolicies,
			Policy{Effect: "allow", PermissionGroupIDs: []string{PermZoneRead}, Resources: allZonesOf(acct)},
			Policy{Effect: "allow", PermissionGroupIDs: []string{PermAccountSettingsRead}, Resources: map[string]any{keyAccount + acct: "*"}})
	}
	_, s.userParent = s.Seed(SeedToken{Name: "fake parent (user)", Owner: ownerUser, Policies: userPolicies})
	for _, acct := range s.accounts {
		_, v := s.Seed(SeedToken{Name: "fake parent (account)", Owner: ownerAccount, AccountID: acct, Policies: []Policy{
			{Effect: "allow", PermissionGroupIDs: []string{PermAccountAPITokensWrite, PermAccountSettingsRead},
				Resources: map[string]any{keyAccount + acct: "*"}},
			{Effect: "allow", PermissionGroupIDs: []string{PermZoneRead}, Resources: allZonesOf(acct)},
		}})
		s.mu.Lock()
		s.acctParents[acct] = v
		s.mu.Unlock()
	}
}

func (s *Server) zoneByID(id string) *zone {
	for _, z := range s.zones {
		if z.id == id {
			return z
		}
	}
	return nil
}

func (s *Server) knownAccount(id string) bool { return contains(s.accounts, id) }

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
