package cloudflaretokens

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/failure"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
)

// The issuer is the boundary of what its credential may mint. The authority is ensureScopeWithinIssuer,
// which judges what would be minted (permission groups resolved with their scopes, zones resolved to ids),
// never how the resource spells it. It runs before every create, and on every pass against the scope
// status records, so that an issuer made stricter withdraws tokens already minted. precheckIssuerBounds
// refuses, without a Cloudflare call, what no resolution could make acceptable.

// neverMinted matches the permission groups that create or read tokens: a minted token must never be able
// to mint (or to read the ids of the tokens it could then attack), whatever the issuer allows.
var neverMinted = regexp.MustCompile(`(?i)^\s*(account\s+)?api\s+tokens\s+(read|write|edit)\s*$`)

// neverMintedIDs are Cloudflare's ids of those groups, for resources that name them by id.
var neverMintedIDs = []string{
	"686d18d5ac6c441c867cbf6771e58a0a", // API Tokens Write
	"5bc3f8b21c554832afc660159ab75fa4", // Account API Tokens Write
	"eb56a6953c034b9d97dd838155666f06", // Account API Tokens Read
}

func isNeverMinted(nameOrID string) bool {
	return neverMinted.MatchString(nameOrID) || slices.Contains(neverMintedIDs, strings.ToLower(nameOrID))
}

// precheckIssuerBounds refuses what is out of bounds whatever the names resolve to: a TTL above maxTTL,
// source ranges outside the issuer's, a group that mints tokens, an empty allow-list, an account-wide
// policy without allowedZones ["*"].
func precheckIssuerBounds(tok *cfv1.CloudflareToken, iss *issuerclient.Issuer) error {
	spec := iss.Spec
	for i, p := range specPolicies(&tok.Spec) {
		zf, pf := policyFields(tok, i)
		for _, perm := range p.Permissions {
			// Names only: an id is refused after resolution, with the name Cloudflare gives it.
			if neverMinted.MatchString(perm) {
				return neverMintedRefusal(pf, perm)
			}
		}
		if len(p.Zones) > 0 && len(spec.AllowedZones) == 0 {
			return failure.Refuse("ZoneNotAllowed", "%s: zone %q is not allowed: %s's spec.allowedZones is empty, which allows no zone",
				zf, p.Zones[0], iss.Key())
		}
		if len(p.Permissions) > 0 && len(spec.AllowedPermissions) == 0 {
			return failure.Refuse("PermissionNotAllowed",
				"%s: permission %q is not allowed: %s's spec.allowedPermissions is empty, which allows no permission",
				pf, p.Permissions[0], iss.Key())
		}
		if p.Account && !slices.Contains(spec.AllowedZones, "*") {
			return accountRefusal(pf, iss)
		}
	}
	if spec.MaxTTL != nil && tok.Spec.TTLOrDefault() > spec.MaxTTL.Duration {
		return failure.Refuse("TTLNotAllowed", "spec.ttl %s exceeds %s's spec.maxTTL %s", tok.Spec.TTLOrDefault(), iss.Key(),
			spec.MaxTTL.Duration)
	}
	return ensureSourceRangesWithin(tok, iss)
}

// ensureScopeWithinIssuer judges a resolved scope: every zone allowed by name or id; every zone-scoped group
// allowed by name, id or "*"; every account- or user-scoped group named (by name or id) in
// allowedPermissions, and then only with allowedZones ["*"], since it applies to the whole account; no group
// that mints tokens, ever.
func ensureScopeWithinIssuer(tok *cfv1.CloudflareToken, zones []cfv1.ResolvedZone, groups []cfv1.ResolvedPermissionGroup,
	iss *issuerclient.Issuer) error {
	spec := iss.Spec
	zf, pf := policyFields(tok, -1)
	for _, g := range groups {
		if isNeverMinted(g.Name) || isNeverMinted(g.ID) {
			return neverMintedRefusal(pf, g.Name)
		}
		named := listed(spec.AllowedPermissions, g.Name) || listed(spec.AllowedPermissions, g.ID)
		if g.Scope == cloudflare.ScopeZone {
			if !named && !slices.Contains(spec.AllowedPermissions, "*") {
				return failure.Refuse("PermissionNotAllowed", "%s: permission %q is not in %s's spec.allowedPermissions %v",
					pf, g.Name, iss.Key(), spec.AllowedPermissions)
			}
			continue
		}
		if !named {
			return failure.Refuse("PermissionNotAllowed", "%s: permission %q is %s-scoped: it must be named in %s's "+
				"spec.allowedPermissions %v (\"*\" covers zone-scoped permissions only)", pf, g.Name, scopeWord(g.Scope),
				iss.Key(), spec.AllowedPermissions)
		}
		if !slices.Contains(spec.AllowedZones, "*") {
			return failure.Refuse("AccountNotAllowed", "%s: permission %q applies to the whole account: %s allows it only "+
				"with spec.allowedZones [\"*\"]", pf, g.Name, iss.Key())
		}
	}
	for _, z := range zones {
		if !slices.Contains(spec.AllowedZones, "*") && !listed(spec.AllowedZones, z.Name) && !listed(spec.AllowedZones, z.ID) {
			return failure.Refuse("ZoneNotAllowed", "%s: zone %q (id %s) is not in %s's spec.allowedZones %v",
				zf, z.Name, z.ID, iss.Key(), spec.AllowedZones)
		}
	}
	return nil
}

// listed: names compare without case (Cloudflare's zone and permission-group names are case-insensitive
// in practice), ids exactly; "*" is not a name and is handled by the caller.
func listed(list []string, v string) bool {
	if v == "" {
		return false
	}
	for _, a := range list {
		if a != "*" && strings.EqualFold(strings.TrimSpace(a), v) {
			return true
		}
	}
	return false
}

// policyFields names the fields a refusal points at: spec.zones / spec.permissions, or spec.policies[i]
// (i < 0: the policies as a whole).
func policyFields(tok *cfv1.CloudflareToken, i int) (zones, permissions string) {
	if len(tok.Spec.Policies) == 0 {
		return "spec.zones", "spec.permissions"
	}
	if i < 0 {
		return "spec.policies", "spec.policies"
	}
	f := fmt.Sprintf("spec.policies[%d]", i)
	return f + ".zones", f + ".permissions"
}

func scopeWord(scope string) string {
	switch scope {
	case cloudflare.ScopeAccount:
		return "account"
	case cloudflare.ScopeUser:
		return "user"
	}
	return scope
}

func neverMintedRefusal(field, perm string) error {
	return failure.Refuse("PermissionNeverMinted", "%s: permission %q can create or read tokens: the operator never mints it, "+
		"whatever the issuer allows (a minted token must never be able to mint)", field, perm)
}

func accountRefusal(field string, iss *issuerclient.Issuer) error {
	return failure.Refuse("AccountNotAllowed", "%s: account-wide policies need spec.allowedZones [\"*\"] on %s (it allows %v)",
		field, iss.Key(), iss.Spec.AllowedZones)
}

// ensureSourceRangesWithin: when the issuer's defaultSourceRanges allow only some networks, a token that
// sets its own ranges must stay inside them (it may narrow, never widen).
func ensureSourceRangesWithin(tok *cfv1.CloudflareToken, iss *issuerclient.Issuer) error {
	def := iss.Spec.DefaultSourceRanges
	if def == nil || len(def.Allow) == 0 || tok.Spec.SourceRanges == nil {
		return nil
	}
	if len(tok.Spec.SourceRanges.Allow) == 0 {
		return failure.Refuse("SourceRangeNotAllowed", "spec.sourceRanges.allow is empty (any address) but %s allows only %v",
			iss.Key(), def.Allow)
	}
	for _, c := range tok.Spec.SourceRanges.Allow {
		if !cidrWithinAny(string(c), def.Allow) {
			return failure.Refuse("SourceRangeNotAllowed", "spec.sourceRanges.allow: %s is outside %s's defaultSourceRanges.allow %v",
				c, iss.Key(), def.Allow)
		}
	}
	return nil
}

func cidrWithinAny(c string, outer []cfv1.CIDR) bool {
	inner, err := netip.ParsePrefix(c)
	if err != nil {
		return false
	}
	for _, o := range outer {
		op, err := netip.ParsePrefix(string(o))
		if err == nil && op.Bits() <= inner.Bits() && op.Contains(inner.Masked().Addr()) {
			return true
		}
	}
	return false
}
