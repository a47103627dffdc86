package cloudflaretokens

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/failure"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
)

// desiredScope is the scope a token should have, resolved to Cloudflare ids.
type desiredScope struct {
	policies     []cloudflare.Policy
	zones        []cfv1.ResolvedZone
	groups       []cfv1.ResolvedPermissionGroup
	sourceRanges cfv1.SourceRanges
}

// effectiveSourceRanges are the token's own ranges, else the issuer's defaults.
// The issuer's denied ranges always apply: a token may not lift them.
func effectiveSourceRanges(tok *cfv1.CloudflareToken, iss *cfv1.IssuerSpec) cfv1.SourceRanges {
	var out cfv1.SourceRanges
	switch {
	case tok.Spec.SourceRanges != nil:
		out = *tok.Spec.SourceRanges.DeepCopy()
	case iss != nil && iss.DefaultSourceRanges != nil:
		return *iss.DefaultSourceRanges.DeepCopy()
	}
	if iss != nil && iss.DefaultSourceRanges != nil {
		for _, d := range iss.DefaultSourceRanges.Deny {
			if !slices.Contains(out.Deny, d) {
				out.Deny = append(out.Deny, d)
			}
		}
	}
	return out
}

// scopeHash identifies everything a minted token is made from, so that any change of it mints a new token.
// It hashes the spec as written (names, not ids) so that deciding costs no Cloudflare call.
func scopeHash(tok *cfv1.CloudflareToken, iss *cfv1.IssuerSpec, issuerAccount string) string {
	in := struct {
		Issuer       cfv1.IssuerRef
		Account      string
		Zones        []string
		Permissions  []string
		Policies     []cfv1.Policy
		SourceRanges cfv1.SourceRanges
		TTL          string
	}{tok.Spec.IssuerRef, issuerAccount, sorted(tok.Spec.Zones), sorted(tok.Spec.Permissions), tok.Spec.Policies,
		effectiveSourceRanges(tok, iss), tok.Spec.TTLOrDefault().String()}
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func sorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}

// specPolicies turns zones + permissions into the policies form, so that both forms resolve alike.
func specPolicies(spec *cfv1.CloudflareTokenSpec) []cfv1.Policy {
	if len(spec.Policies) > 0 {
		return spec.Policies
	}
	return []cfv1.Policy{{Effect: "allow", Permissions: spec.Permissions, Zones: spec.Zones}}
}

// resolveScope maps the declared zones and permissions to Cloudflare ids and builds the policies: zone-scoped
// permission groups on the named zones, account-scoped ones on the issuer's account. A permission of the
// wrong kind for where it is used is refused with the field named.
func resolveScope(ctx context.Context, cl cloudflare.Client, tok *cfv1.CloudflareToken, iss *issuerclient.Issuer) (*desiredScope, error) {
	out := &desiredScope{sourceRanges: effectiveSourceRanges(tok, iss.Spec)}
	seenZone, seenGroup := map[string]bool{}, map[string]bool{}
	for i, p := range specPolicies(&tok.Spec) {
		field := fmt.Sprintf("spec.policies[%d]", i)
		if len(tok.Spec.Policies) == 0 {
			field = "spec.permissions"
		}
		zones, err := cl.ResolveZones(ctx, p.Zones)
		if err != nil {
			return nil, failure.UnknownRefError(err, "zone", "spec.zones")
		}
		prefer := cloudflare.ScopeZone
		if p.Account {
			prefer = cloudflare.ScopeAccount
		}
		groups, err := cl.ResolvePermissionGroupsScoped(ctx, p.Permissions, prefer)
		if err != nil {
			return nil, failure.UnknownRefError(err, "permission group", field)
		}
		zoneGroups, accountGroups, err := splitByScope(groups, p, field)
		if err != nil {
			return nil, err
		}
		effect := cloudflare.EffectAllow
		if p.Effect == "deny" {
			effect = cloudflare.EffectDeny
		}
		if len(zoneGroups) > 0 {
			if len(zones) == 0 {
				return nil, failure.Refuse("ZonesRequired", "%s: zone-scoped permissions %v need zones in spec.zones", field, names(zoneGroups))
			}
			res := map[string]any{}
			for _, z := range zones {
				res[cloudflare.ZoneResource(z.ID)] = "*"
			}
			out.policies = append(out.policies, cloudflare.Policy{Effect: effect, PermissionGroupIDs: ids(zoneGroups), Resources: res})
		}
		if len(accountGroups) > 0 {
			if iss.AccountID == "" {
				return nil, failure.Refuse("AccountRequired", "%s: account-scoped permissions %v need spec.accountID on the issuer",
					field, names(accountGroups))
			}
			res := map[string]any{cloudflare.AccountResource(iss.AccountID): "*"}
			out.policies = append(out.policies, cloudflare.Policy{Effect: effect, PermissionGroupIDs: ids(accountGroups), Resources: res})
		}
		for _, z := range zones {
			if !seenZone[z.ID] {
				seenZone[z.ID] = true
				out.zones = append(out.zones, cfv1.ResolvedZone{Name: z.Name, ID: z.ID})
			}
		}
		for _, g := range groups {
			if !seenGroup[g.ID] {
				seenGroup[g.ID] = true
				out.groups = append(out.groups, cfv1.ResolvedPermissionGroup{Name: g.Name, ID: g.ID, Scope: scopeOf(g, prefer)})
			}
		}
	}
	return out, nil
}

// splitByScope sorts groups into zone- and account-scoped ones; user-level groups (such as API Tokens
// Write) are never minted, because a token carrying them could mint tokens itself.
func splitByScope(groups []cloudflare.PermissionGroup, p cfv1.Policy, field string) (
	zone, account []cloudflare.PermissionGroup, err error) {
	prefer := cloudflare.ScopeZone
	if p.Account {
		prefer = cloudflare.ScopeAccount
	}
	for _, g := range groups {
		if isNeverMinted(g.Name) || isNeverMinted(g.ID) {
			return nil, nil, neverMintedRefusal(field, g.Name)
		}
		switch scopeOf(g, prefer) {
		case cloudflare.ScopeZone:
			if p.Account {
				return nil, nil, failure.Refuse("PermissionScopeMismatch",
					"%s: permission %q is zone-scoped; name zones for it, not account: true", field, g.Name)
			}
			zone = append(zone, g)
		case cloudflare.ScopeAccount:
			account = append(account, g)
		default:
			return nil, nil, failure.Refuse("PermissionNotMintable",
				"%s: permission %q is user-level and cannot be delegated to a minted token", field, g.Name)
		}
	}
	return zone, account, nil
}

// scopeOf is the scope a group is used at: the preferred one when it has it, else zone, then account.
func scopeOf(g cloudflare.PermissionGroup, prefer string) string {
	for _, s := range []string{prefer, cloudflare.ScopeZone, cloudflare.ScopeAccount} {
		if slices.Contains(g.Scopes, s) {
			return s
		}
	}
	if len(g.Scopes) > 0 {
		return g.Scopes[0]
	}
	return ""
}

func ids(groups []cloudflare.PermissionGroup) []string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		out = append(out, g.ID)
	}
	return out
}

func names(groups []cloudflare.PermissionGroup) []string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		out = append(out, g.Name)
	}
	return out
}
