package controller

import (
	"net/netip"
	"slices"
	"strings"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// The issuer is the boundary of what its credential may mint: these checks run before any Cloudflare call,
// on every pass, so that an issuer made stricter takes effect on tokens already minted. They compare what
// the resource declares literally (names or ids as written): a zone or permission given by id where the
// issuer lists names is refused too, since deciding it would need a Cloudflare call first.

// ensureWithinIssuerBounds refuses a token that asks for more than its issuer allows.
func ensureWithinIssuerBounds(tok *cfv1.CloudflareToken, iss *issuer) error {
	spec := iss.spec
	for _, p := range specPolicies(&tok.Spec) {
		for _, z := range p.Zones {
			if !allowed(spec.AllowedZones, z) {
				return refuse("ZoneNotAllowed", "spec.zones: zone %q is not in %s's spec.allowedZones %v", z, iss.key(), spec.AllowedZones)
			}
		}
		for _, perm := range p.Permissions {
			if !allowed(spec.AllowedPermissions, perm) {
				return refuse("PermissionNotAllowed", "spec.permissions: permission %q is not in %s's spec.allowedPermissions %v",
					perm, iss.key(), spec.AllowedPermissions)
			}
		}
		if p.Account && len(spec.AllowedZones) > 0 && !slices.Contains(spec.AllowedZones, "*") {
			return refuse("AccountNotAllowed", "spec.policies: account-wide policies need allowedZones [\"*\"] on %s", iss.key())
		}
	}
	if spec.MaxTTL != nil && tok.Spec.TTLOrDefault() > spec.MaxTTL.Duration {
		return refuse("TTLNotAllowed", "spec.ttl %s exceeds %s's spec.maxTTL %s", tok.Spec.TTLOrDefault(), iss.key(), spec.MaxTTL.Duration)
	}
	return ensureSourceRangesWithin(tok, iss)
}

// allowed: an empty list or "*" allows anything; names compare without case (Cloudflare's zone names and
// permission-group names are case-insensitive in practice), ids exactly.
func allowed(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, a := range list {
		if a == "*" || strings.EqualFold(a, v) {
			return true
		}
	}
	return false
}

// ensureSourceRangesWithin: when the issuer's defaultSourceRanges allow only some networks, a token that
// sets its own ranges must stay inside them (it may narrow, never widen).
func ensureSourceRangesWithin(tok *cfv1.CloudflareToken, iss *issuer) error {
	def := iss.spec.DefaultSourceRanges
	if def == nil || len(def.Allow) == 0 || tok.Spec.SourceRanges == nil {
		return nil
	}
	if len(tok.Spec.SourceRanges.Allow) == 0 {
		return refuse("SourceRangeNotAllowed", "spec.sourceRanges.allow is empty (any address) but %s allows only %v",
			iss.key(), def.Allow)
	}
	for _, c := range tok.Spec.SourceRanges.Allow {
		if !cidrWithinAny(string(c), def.Allow) {
			return refuse("SourceRangeNotAllowed", "spec.sourceRanges.allow: %s is outside %s's defaultSourceRanges.allow %v",
				c, iss.key(), def.Allow)
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
