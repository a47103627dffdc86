package cloudflare

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/shared"
)

// toSDKPolicies maps our policies to the SDK's create parameters.
func toSDKPolicies(ps []Policy) ([]shared.TokenPolicyParam, error) {
	if len(ps) == 0 {
		return nil, fmt.Errorf("a token needs at least one policy")
	}
	out := make([]shared.TokenPolicyParam, 0, len(ps))
	for i, p := range ps {
		var sp shared.TokenPolicyParam
		switch p.Effect {
		case EffectAllow, EffectDeny:
			sp.Effect.Value, sp.Effect.Present = shared.TokenPolicyEffect(p.Effect), true
		default:
			return nil, fmt.Errorf("policy %d: effect must be allow or deny, not %q", i, p.Effect)
		}
		if len(p.PermissionGroupIDs) == 0 {
			return nil, fmt.Errorf("policy %d: no permission groups", i)
		}
		groups := make([]shared.TokenPolicyPermissionGroupParam, len(p.PermissionGroupIDs))
		for j, id := range p.PermissionGroupIDs {
			groups[j].ID.Value, groups[j].ID.Present = id, true
		}
		sp.PermissionGroups.Value, sp.PermissionGroups.Present = groups, true
		if err := setResources(&sp, p.Resources); err != nil {
			return nil, fmt.Errorf("policy %d: %w", i, err)
		}
		out = append(out, sp)
	}
	return out, nil
}

// setResources fills the SDK's resources union. The SDK models resources as either all strings or all
// nested objects; a policy mixing both (legal at Cloudflare) is sent as a raw value so nothing is lost.
func setResources(sp *shared.TokenPolicyParam, res map[string]any) error {
	if len(res) == 0 {
		return fmt.Errorf("no resources")
	}
	flat := shared.TokenPolicyResourcesIAMResourcesTypeObjectStringParam{}
	nested := shared.TokenPolicyResourcesIAMResourcesTypeObjectNestedParam{}
	raw := make(map[string]any, len(res))
	for k, v := range res {
		switch v := v.(type) {
		case string:
			flat[k], raw[k] = v, v
		case map[string]string:
			nested[k], raw[k] = v, v
		case map[string]any:
			m := make(map[string]string, len(v))
			for kk, vv := range v {
				s, ok := vv.(string)
				if !ok {
					return fmt.Errorf("resource %q: nested value of %q must be a string, not %T", k, kk, vv)
				}
				m[kk] = s
			}
			nested[k], raw[k] = m, m
		default:
			return fmt.Errorf("resource %q: value must be a string or an object of strings, not %T", k, v)
		}
	}
	switch {
	case len(nested) == 0:
		sp.Resources.Value = flat
	case len(flat) == 0:
		sp.Resources.Value = nested
	default:
		sp.Resources.Raw = raw
	}
	sp.Resources.Present = true
	return nil
}

// fromSDKPolicies maps policies as Cloudflare reports them. Resources are read from the raw JSON, because
// the SDK's union cannot hold a policy that mixes plain and nested resources; nested objects come back as
// map[string]any.
func fromSDKPolicies(ps []shared.TokenPolicy) []Policy {
	if len(ps) == 0 {
		return nil
	}
	out := make([]Policy, 0, len(ps))
	for _, p := range ps {
		ids := make([]string, 0, len(p.PermissionGroups))
		for _, g := range p.PermissionGroups {
			ids = append(ids, g.ID)
		}
		out = append(out, Policy{Effect: Effect(p.Effect), PermissionGroupIDs: ids, Resources: sdkResources(p)})
	}
	return out
}

func sdkResources(p shared.TokenPolicy) map[string]any {
	var m map[string]any
	if raw := p.JSON.Resources.Raw(); raw != "" && json.Unmarshal([]byte(raw), &m) == nil {
		return m
	}
	switch r := p.Resources.(type) {
	case shared.TokenPolicyResourcesIAMResourcesTypeObjectString:
		m = make(map[string]any, len(r))
		for k, v := range r {
			m[k] = v
		}
	case shared.TokenPolicyResourcesIAMResourcesTypeObjectNested:
		m = make(map[string]any, len(r))
		for k, v := range r {
			inner := make(map[string]any, len(v))
			for kk, vv := range v {
				inner[kk] = vv
			}
			m[k] = inner
		}
	}
	return m
}

// apiTime is how a time goes to Cloudflare: UTC, whole seconds (RFC 3339 "2030-01-02T03:04:05Z").
func apiTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// optTime maps the SDK's zero time (field absent or null) to nil.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
