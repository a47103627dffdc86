package cloudflaretest

// Permission-group scopes.
const (
	ScopeUser    = "com.cloudflare.api.user"
	ScopeAccount = "com.cloudflare.api.account"
	ScopeZone    = "com.cloudflare.api.account.zone"
)

// Permission-group ids the tests and the seeded parents use: Cloudflare's ids, from its docs, its SDK's
// examples and published catalogue snapshots, except those marked (chosen), for which no public source
// gave an id; they only need to be stable here.
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
	PermAccountAPITokensRead  = "eb56a6953c034b9d97dd838155666f06"
	PermWorkersScriptsWrite   = "e086da7e2179491d91ee5f35b3ca210a"
	PermWorkersScriptsRead    = "1a71c399035b4950a1bd1466bbe4f420"
	// "Analytics Read" is the zone's; the account's is "Account Analytics Read".
	PermZoneAnalyticsRead    = "9c88f9c5bce24ce7af9a958ba9c504db"
	PermAccountAnalyticsRead = "b89a480218d04ceb98b4fe57ca29dc1f"
	// Names that exist at account and at zone scope with distinct ids: clients must resolve by name and scope.
	PermZoneLogsRead               = "c4a30cd58c5d42619c86a3c36c441e2d"
	PermAccountLogsRead            = "6a315a56f18441e59ed03352369ae956"
	PermZoneLogsWrite              = "3e0b5820118e47f3922f7c989e673882"
	PermAccountLogsWrite           = "96163bd1b0784f62b3e44ed8c2ab1eb6"
	PermZonePageShieldRead         = "9a2c3c3f1b0b4e0a8f1d2c3b4a5e6f70" // (chosen)
	PermAccountPageShieldRead      = "050531528b044d58bbb71666fef7c07c"
	PermZonePageShieldWrite        = "87065285ab38463481e72815eefd18c3"
	PermAccountPageShieldWrite     = "3b1f0c5e2d7a4e6b9c8d0a1f2e3b4c5d" // (chosen)
	PermZoneTransformRulesRead     = "5d0e4c7a9b3f4a21b8e6c0d1f2a3b4c6" // (chosen)
	PermAccountTransformRulesRead  = "a9a99455bf3245f6a5a244f909d74830"
	PermZoneTransformRulesWrite    = "6e1f5d8b0c4a4b32c9f7d1e2a3b4c5d7" // (chosen)
	PermAccountTransformRulesWrite = "ae16e88bc7814753a1894c7ce187ab72"
	PermZoneAPIGatewayRead         = "7f2a6e9c1d5b4c43dafe2f3b4c5d6e78" // (chosen)
	PermAccountAPIGatewayRead      = "8a3b7fad2e6c4d54ebaf3a4c5d6e7f89" // (chosen)
	PermZoneAPIGatewayWrite        = "9b4c8abe3f7d4e65fcba4b5d6e7f8a9b" // (chosen)
	PermAccountAPIGatewayWrite     = "ac5d9bcf4a8e4f76adcb5c6e7f8a9bac" // (chosen)
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
	// Capabilities no endpoint of the fake asks for: their groups only need to exist, at their scopes.
	capLogsRead            capability = "logs.read"
	capLogsWrite           capability = "logs.write"
	capPageShieldRead      capability = "page-shield.read"
	capPageShieldWrite     capability = "page-shield.write"
	capTransformRulesRead  capability = "transform-rules.read"
	capTransformRulesWrite capability = "transform-rules.write"
	capAPIGatewayRead      capability = "api-gateway.read"
	capAPIGatewayWrite     capability = "api-gateway.write"
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
	{ID: PermAccountAnalyticsRead, Name: "Account Analytics Read", Scopes: []string{ScopeAccount},
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
	{ID: PermZoneLogsRead, Name: "Logs Read", Scopes: []string{ScopeZone}, cap: capLogsRead},
	{ID: PermAccountLogsRead, Name: "Logs Read", Scopes: []string{ScopeAccount}, cap: capLogsRead},
	{ID: PermZoneLogsWrite, Name: "Logs Write", Scopes: []string{ScopeZone}, cap: capLogsWrite},
	{ID: PermAccountLogsWrite, Name: "Logs Write", Scopes: []string{ScopeAccount}, cap: capLogsWrite},
	{ID: PermZonePageShieldRead, Name: "Page Shield Read", Scopes: []string{ScopeZone}, cap: capPageShieldRead},
	{ID: PermAccountPageShieldRead, Name: "Page Shield Read", Scopes: []string{ScopeAccount}, cap: capPageShieldRead},
	{ID: PermZonePageShieldWrite, Name: "Page Shield Write", Scopes: []string{ScopeZone}, cap: capPageShieldWrite},
	{ID: PermAccountPageShieldWrite, Name: "Page Shield Write", Scopes: []string{ScopeAccount}, cap: capPageShieldWrite},
	{ID: PermZoneTransformRulesRead, Name: "Transform Rules Read", Scopes: []string{ScopeZone}, cap: capTransformRulesRead},
	{ID: PermAccountTransformRulesRead, Name: "Transform Rules Read", Scopes: []string{ScopeAccount}, cap: capTransformRulesRead},
	{ID: PermZoneTransformRulesWrite, Name: "Transform Rules Write", Scopes: []string{ScopeZone}, cap: capTransformRulesWrite},
	{ID: PermAccountTransformRulesWrite, Name: "Transform Rules Write", Scopes: []string{ScopeAccount}, cap: capTransformRulesWrite},
	{ID: PermZoneAPIGatewayRead, Name: "API Gateway Read", Scopes: []string{ScopeZone}, cap: capAPIGatewayRead},
	{ID: PermAccountAPIGatewayRead, Name: "API Gateway Read", Scopes: []string{ScopeAccount}, cap: capAPIGatewayRead},
	{ID: PermZoneAPIGatewayWrite, Name: "API Gateway Write", Scopes: []string{ScopeZone}, cap: capAPIGatewayWrite},
	{ID: PermAccountAPIGatewayWrite, Name: "API Gateway Write", Scopes: []string{ScopeAccount}, cap: capAPIGatewayWrite},
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
