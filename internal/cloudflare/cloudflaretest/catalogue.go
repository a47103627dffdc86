package cloudflaretest

// Permission-group scopes.
const (
	ScopeUser    = "com.cloudflare.api.user"
	ScopeAccount = "com.cloudflare.api.account"
	ScopeZone    = "com.cloudflare.api.account.zone"
)

// Permission-group ids the tests and the seeded parents use. The first five are from cloudflare-api.md; the
// others are Cloudflare's ids as far as public examples show them, and only need to be stable here.
const (
	PermAPITokensWrite        = "686d18d5ac6c441c867cbf6771e58a0a"
	PermZoneRead              = "c8fed203ed3043cba015a93ad1616f1f"
	PermDNSWrite              = "4755a26eedb94da69e1066d98aa820be"
	PermDNSRead               = "82e64a83756745bbbb1c9c2701bf816b"
	PermAPITokensRead         = "0cc3a61731504c89b99ec1be78b77aa0"
	PermZoneWrite             = "e6d2666161e84845a636613608cee8d5"
	PermUserDetailsRead       = "8acbe5bb0d54464ab867149d7f7cf8ac"
	PermAccountSettingsRead   = "c1fde68c7bcc44588cbb6ddbc16d6480"
	PermAccountSettingsWrite  = "1af1fa2adc104452b74a9a3364202f20"
	PermAccountAPITokensWrite = "5bc3f8b21c554832afc660159ab75fa4"
	PermAccountAPITokensRead  = "0f4841f80adb4bada5a09493300b7f8d"
	PermWorkersScriptsWrite   = "e086da7e2179491d91ee5f35b3ca210a"
	PermWorkersScriptsRead    = "1a71c399035b4950a1bd1466bbe4f420"
	// "Analytics Read" exists at zone and at account scope with distinct ids: clients must resolve by name
	// and scope.
	PermZoneAnalyticsRead    = "9c88f9c5bce24ce7af9a958ba9c504db"
	PermAccountAnalyticsRead = "b89a480218d04ceb98b4fe57ca29dc1f"
)

// capability is what a permission group lets a token do; endpoints ask for capabilities. A "write"
// capability implies the matching "read" one when allowed (Cloudflare's Edit includes Read), but a deny of
// the write group does not deny reads.
type capability string

const (
	capUserTokensRead     capability = "user.tokens.read"
	capUserTokensWrite    capability = "user.tokens.write"
	capUserRead           capability = "user.read"
	capZoneRead           capability = "zone.read"
	capZoneWrite          capability = "zone.write"
	capDNSRead            capability = "dns.read"
	capDNSWrite           capability = "dns.write"
	capAccountRead        capability = "account.read"
	capAccountWrite       capability = "account.write"
	capAccountTokensRead  capability = "account.tokens.read"
	capAccountTokensWrite capability = "account.tokens.write"
	capWorkersRead        capability = "workers.read"
	capWorkersWrite       capability = "workers.write"
	capAnalyticsRead      capability = "analytics.read"
)

// readOf maps a write capability to the read capability it implies.
var readOf = map[capability]capability{
	capUserTokensWrite:    capUserTokensRead,
	capZoneWrite:          capZoneRead,
	capDNSWrite:           capDNSRead,
	capAccountWrite:       capAccountRead,
	capAccountTokensWrite: capAccountTokensRead,
	capWorkersWrite:       capWorkersRead,
}

type permissionGroup struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Scopes   []string `json:"scopes"`
	Category string   `json:"category,omitempty"`
	cap      capability
}

var catalogue = []permissionGroup{
	{ID: PermAPITokensWrite, Name: "API Tokens Write", Scopes: []string{ScopeUser}, Category: "account_and_billing", cap: capUserTokensWrite},
	{ID: PermAPITokensRead, Name: "API Tokens Read", Scopes: []string{ScopeUser}, Category: "account_and_billing", cap: capUserTokensRead},
	{ID: PermUserDetailsRead, Name: "User Details Read", Scopes: []string{ScopeUser}, Category: "account_and_billing", cap: capUserRead},
	{ID: PermZoneRead, Name: "Zone Read", Scopes: []string{ScopeZone}, Category: "dns_and_zones", cap: capZoneRead},
	{ID: PermZoneWrite, Name: "Zone Write", Scopes: []string{ScopeZone}, Category: "dns_and_zones", cap: capZoneWrite},
	{ID: PermDNSRead, Name: "DNS Read", Scopes: []string{ScopeZone}, Category: "dns_and_zones", cap: capDNSRead},
	{ID: PermDNSWrite, Name: "DNS Write", Scopes: []string{ScopeZone}, Category: "dns_and_zones", cap: capDNSWrite},
	{ID: PermZoneAnalyticsRead, Name: "Analytics Read", Scopes: []string{ScopeZone}, Category: "analytics_and_logs", cap: capAnalyticsRead},
	{ID: PermAccountAnalyticsRead, Name: "Analytics Read", Scopes: []string{ScopeAccount},
		Category: "analytics_and_logs", cap: capAnalyticsRead},
	{ID: PermAccountSettingsRead, Name: "Account Settings Read", Scopes: []string{ScopeAccount},
		Category: "account_and_billing", cap: capAccountRead},
	{ID: PermAccountSettingsWrite, Name: "Account Settings Write", Scopes: []string{ScopeAccount},
		Category: "account_and_billing", cap: capAccountWrite},
	{ID: PermAccountAPITokensRead, Name: "Account API Tokens Read", Scopes: []string{ScopeAccount},
		Category: "account_and_billing", cap: capAccountTokensRead},
	{ID: PermAccountAPITokensWrite, Name: "Account API Tokens Write", Scopes: []string{ScopeAccount},
		Category: "account_and_billing", cap: capAccountTokensWrite},
	{ID: PermWorkersScriptsRead, Name: "Workers Scripts Read", Scopes: []string{ScopeAccount},
		Category: "developer_platform", cap: capWorkersRead},
	{ID: PermWorkersScriptsWrite, Name: "Workers Scripts Write", Scopes: []string{ScopeAccount},
		Category: "developer_platform", cap: capWorkersWrite},
}

func groupByID(id string) (permissionGroup, bool) {
	for _, g := range catalogue {
		if g.ID == id {
			return g, true
		}
	}
	return permissionGroup{}, false
}

// PermissionGroup is a catalogue entry, for tests that need names and scopes.
type PermissionGroup struct {
	ID, Name string
	Scopes   []string
}

// PermissionGroups returns the catalogue.
func PermissionGroups() []PermissionGroup {
	out := make([]PermissionGroup, 0, len(catalogue))
	for _, g := range catalogue {
		out = append(out, PermissionGroup{ID: g.ID, Name: g.Name, Scopes: append([]string(nil), g.Scopes...)})
	}
	return out
}
