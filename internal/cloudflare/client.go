// Package cloudflare is the only part of the operator that speaks to Cloudflare's API. Controllers use the
// small Client interface below; nothing else imports the SDK.
package cloudflare

import (
	"context"
	"time"
)

// Owner says whose tokens an issuer mints: the user's (/user/tokens) or an account's
// (/accounts/{id}/tokens). The two have separate quotas (50 and 500) and separate verify endpoints.
type Owner string

const (
	OwnerUser    Owner = "User"
	OwnerAccount Owner = "Account"
)

// Credential is the parent credential of an issuer: an API token, or a legacy global API key with its e-mail.
type Credential struct {
	APIToken Secret
	APIKey   Secret
	Email    string
}

// Config selects one issuer's view of Cloudflare.
type Config struct {
	// BaseURL ends in /client/v4.
	BaseURL    string
	Credential Credential
	// AccountID is required for account-owned tokens and account-scoped permission groups.
	AccountID string
	Owner     Owner
}

// CredentialInfo is what verifying the parent credential tells.
type CredentialInfo struct {
	// ID of the parent token (empty for a global API key).
	ID     string
	Status string
	// ExpiresOn is when the parent token itself expires; nil when it does not.
	ExpiresOn *time.Time
}

// Zone is a resolved zone.
type Zone struct {
	ID        string
	Name      string
	AccountID string
}

// Permission-group scopes as Cloudflare names them.
const (
	ScopeUser    = "com.cloudflare.api.user"
	ScopeAccount = "com.cloudflare.api.account"
	ScopeZone    = "com.cloudflare.api.account.zone"
)

// PermissionGroup is a resolved permission group.
type PermissionGroup struct {
	ID     string
	Name   string
	Scopes []string
}

// Effect of a policy.
type Effect string

const (
	EffectAllow Effect = "allow"
	EffectDeny  Effect = "deny"
)

// Policy is one token policy. Resources uses Cloudflare's resource keys, see ZoneResource and AccountResource.
type Policy struct {
	Effect             Effect
	PermissionGroupIDs []string
	Resources          map[string]any
}

// ZoneResource is the resource key of a single zone.
func ZoneResource(zoneID string) string { return "com.cloudflare.api.account.zone." + zoneID }

// AccountResource is the resource key of a single account.
func AccountResource(accountID string) string { return "com.cloudflare.api.account." + accountID }

// RequestIP is a token's request_ip condition.
type RequestIP struct {
	In    []string
	NotIn []string
}

// TokenSpec is what is asked of Cloudflare when a token is created.
type TokenSpec struct {
	Name      string
	Policies  []Policy
	NotBefore *time.Time
	ExpiresOn *time.Time
	RequestIP RequestIP
}

// Token statuses. Any status but active means the token is dead, including ones Cloudflare adds later.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
	StatusExpired  = "expired"
	// StatusExposed is how Cloudflare reports a token it deactivated because it was found leaked in public;
	// the token still exists and counts against the quota.
	StatusExposed = "revoked (exposed)"
)

// Token is a token as Cloudflare reports it; it never carries the value.
type Token struct {
	ID        string
	Name      string
	Status    string
	IssuedOn  time.Time
	NotBefore *time.Time
	ExpiresOn *time.Time
	// LastUsedOn is when Cloudflare last saw the token used; nil when never.
	LastUsedOn *time.Time
	Policies   []Policy
	RequestIP  RequestIP
}

// Client is one issuer's view of Cloudflare. Create and Delete are safe to repeat: the caller finds a token
// it lost track of by its (deterministic) name through ListTokens, and deleting a token that is already gone
// is not an error.
type Client interface {
	// Verify checks the parent credential on the endpoint that fits its kind and owner.
	Verify(ctx context.Context) (CredentialInfo, error)
	// ResolveZones maps zone names or ids to zones, in order. Cached per client.
	ResolveZones(ctx context.Context, refs []string) ([]Zone, error)
	// ResolvePermissionGroups maps permission-group names or ids to groups, preferring the zone scope
	// when a name exists at several scopes unless scope is given. Cached per client.
	ResolvePermissionGroups(ctx context.Context, refs []string) ([]PermissionGroup, error)
	// ResolvePermissionGroupsScoped is ResolvePermissionGroups preferring preferScope for names that exist
	// at several scopes.
	ResolvePermissionGroupsScoped(ctx context.Context, refs []string, preferScope string) ([]PermissionGroup, error)
	// CreateToken mints a token; the value is returned only here.
	CreateToken(ctx context.Context, spec TokenSpec) (Token, Secret, error)
	// ListTokens returns every token of the owner, all pages.
	ListTokens(ctx context.Context) ([]Token, error)
	GetToken(ctx context.Context, id string) (Token, error)
	// DeleteToken revokes a token; a token that is already gone is not an error.
	DeleteToken(ctx context.Context, id string) error
	// RenameToken changes a token's name and nothing else.
	RenameToken(ctx context.Context, id, name string) error
}

// Factory gives the Client for an issuer's configuration. Implementations share caches and the request
// budget between issuers that use the same credential.
type Factory interface {
	ClientFor(cfg Config) (Client, error)
}
