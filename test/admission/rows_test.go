package admission_test

import (
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// row is one CloudflareToken written against the policies, with the outcome it must get: denied by a
// policy with an exact message, admitted with an exact warning, or admitted silently.
type row struct {
	desc string
	tok  *cfv1.CloudflareToken
	// policy and rule name the validation that must decide the row: the policy's name and the static
	// message of the validation (policy_test.go removes that validation and expects the row to change).
	policy, rule string
	// denied is the message the policy must deny with; warning the one it must warn with.
	denied, warning string
}

func (r row) String() string { return r.desc }

// verify writes the row's token (a fresh generated name; a server-side dry run when dryRun) and says how
// the outcome differs from the expected one, or nil.
func (r row) verify(dryRun bool) error {
	obj := r.tok.DeepCopy()
	obj.GenerateName, obj.Name = obj.Name+"-", ""
	var opts []client.CreateOption
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	warnings.reset()
	err := k8sClient.Create(ctx, obj, opts...)
	got := warnings.list()
	if r.denied != "" {
		want := deniedBy(r.policy, r.denied)
		switch {
		case err == nil:
			return fmt.Errorf("admitted, want denied with %q", want)
		case !apierrors.IsForbidden(err) || !strings.HasSuffix(err.Error(), want):
			return fmt.Errorf("denied with %q, want %q", err.Error(), want)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("denied: %w", err)
	}
	var want []string
	if r.warning != "" {
		want = []string{warningText(r.warning)}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("warnings %q, want %q", got, want)
	}
	return nil
}

// warningText is the warning the API server sends for a failed Warn validation of the blocked-TLD policy;
// kubectl prints it after "Warning: ".
func warningText(message string) string {
	return fmt.Sprintf("Validation failed for ValidatingAdmissionPolicy '%s' with binding '%s': %s", warnPolicy, warnPolicy, message)
}

// Static messages of the validations (the rule each row exercises).
const (
	ruleZones             = "spec.zones must lie within the issuer's spec.allowedZones"
	rulePolicyZones       = "spec.policies[].zones must lie within the issuer's spec.allowedZones"
	rulePermissions       = "spec.permissions must lie within the issuer's spec.allowedPermissions"
	rulePolicyPermissions = "spec.policies[].permissions must lie within the issuer's spec.allowedPermissions"
	ruleTokenGroups       = "spec.permissions must not name a permission group that creates or reads tokens"
	rulePolicyTokenGroups = "spec.policies[].permissions must not name a permission group that creates or reads tokens"
	ruleAccount           = "spec.policies[].account needs the issuer's spec.allowedZones to allow any zone"
	ruleTTL               = "spec.ttl must not exceed the issuer's spec.maxTTL"
	ruleRangesEmpty       = "spec.sourceRanges.allow may not be empty when the issuer's spec.defaultSourceRanges.allow is set"
	ruleRangesOutside     = "spec.sourceRanges.allow must lie within the issuer's spec.defaultSourceRanges.allow"
	ruleMatchLabels       = "the token's namespace must be selected by the ClusterTokenIssuer's spec.namespaceSelector.matchLabels"
	ruleMatchExpressions  = "the token's namespace must be selected by the ClusterTokenIssuer's spec.namespaceSelector.matchExpressions"
	ruleBlockedZones      = "spec.zones: Cloudflare refuses DNS record edits through the API for .cf, .ga, .gq, .ml and .tk zones"
	ruleBlockedPolicies   = "spec.policies[].zones: Cloudflare refuses DNS record edits through the API for .cf, .ga, .gq, .ml and .tk zones"
)

const (
	cti = "ClusterTokenIssuer"
	ti  = "TokenIssuer"
)

func policy(perms []string, zones ...string) cfv1.Policy {
	return cfv1.Policy{Effect: "allow", Permissions: perms, Zones: zones}
}

func accountPolicy(perms ...string) cfv1.Policy {
	return cfv1.Policy{Effect: "allow", Permissions: perms, Account: true}
}

// accountRefused is the refusal of the account-wide policy i through an issuer whose allowedZones lack "*".
func accountRefused(i int, issuer, allowedZones string) string {
	return fmt.Sprintf(`spec.policies[%d].account: account-wide policies need spec.allowedZones ["*"] on %s, `+
		"whose spec.allowedZones is %s", i, issuer, allowedZones)
}

func denyFrom(cidrs ...cfv1.CIDR) func(*cfv1.CloudflareTokenSpec) {
	return func(s *cfv1.CloudflareTokenSpec) { s.SourceRanges = &cfv1.SourceRanges{Deny: cidrs} }
}

const (
	boundedZones  = "ClusterTokenIssuer bounded's spec.allowedZones [example.com]"
	boundedPerms  = "ClusterTokenIssuer bounded's spec.allowedPermissions [Zone Read, DNS Write]"
	boundedRanges = "ClusterTokenIssuer bounded's spec.defaultSourceRanges.allow"
	localZones    = "TokenIssuer team/local's spec.allowedZones [team.example.com]"
	localPerms    = "TokenIssuer team/local's spec.allowedPermissions [DNS Read, DNS Write]"
	localRanges   = "TokenIssuer team/local's spec.defaultSourceRanges.allow"
	blockedSuffix = "; the token is minted but cert-manager DNS-01 will fail"
	blockedText   = "Cloudflare refuses DNS record edits through the API for .cf, .ga, .gq, .ml and .tk zones"
)

// deniedRows go outside the bounds of the issuer they reference: each is denied by exactly one validation.
var deniedRows = []row{
	// ClusterTokenIssuer "bounded": zones [example.com], permissions [Zone Read, DNS Write], maxTTL 1000h,
	// defaultSourceRanges.allow [203.0.113.0/24].
	{desc: "a zone outside allowedZones", tok: token("zone", nsPlain, cti, "bounded", zones("example.com", "example.org")),
		policy: clusterPolicy, rule: ruleZones,
		denied: "spec.zones: zone 'example.org' is not in " + boundedZones},
	{desc: "a zone outside allowedZones in spec.policies", tok: token("policy-zone", nsPlain, cti, "bounded", withPolicies(
		policy([]string{"Zone Read"}, "Example.COM"), policy([]string{"DNS Write"}, "example.com", "evil.example"))),
		policy: clusterPolicy, rule: rulePolicyZones,
		denied: "spec.policies[1].zones: zone 'evil.example' is not in " + boundedZones},
	{desc: "a permission outside allowedPermissions", tok: token("perm", nsPlain, cti, "bounded", zones("example.com"),
		permissions("Zone Read", "DNS Write", "Zone Write")),
		policy: clusterPolicy, rule: rulePermissions,
		denied: "spec.permissions: permission 'Zone Write' is not in " + boundedPerms},
	{desc: "a permission outside allowedPermissions in spec.policies", tok: token("policy-perm", nsPlain, cti, "bounded", withPolicies(
		policy([]string{"DNS Write", "Account Settings Write"}, "example.com"))),
		policy: clusterPolicy, rule: rulePolicyPermissions,
		denied: "spec.policies[0].permissions: permission 'Account Settings Write' is not in " + boundedPerms},
	{desc: "an account-wide policy through an issuer bounded to zones", tok: token("account", nsPlain, cti, "bounded", withPolicies(
		policy([]string{"Zone Read"}, "example.com"), accountPolicy("Zone Read"))),
		policy: clusterPolicy, rule: ruleAccount,
		denied: accountRefused(1, "ClusterTokenIssuer bounded", "[example.com]")},
	{desc: "a ttl above maxTTL", tok: token("ttl", nsPlain, cti, "bounded", zones("example.com"), ttl(2000)),
		policy: clusterPolicy, rule: ruleTTL,
		denied: "spec.ttl: 2000h0m0s exceeds ClusterTokenIssuer bounded's spec.maxTTL 1000h0m0s"},
	{desc: "a source range outside defaultSourceRanges", tok: token("range", nsPlain, cti, "bounded", zones("example.com"),
		allowFrom("198.51.100.0/24")),
		policy: clusterPolicy, rule: ruleRangesOutside,
		denied: "spec.sourceRanges.allow: 198.51.100.0/24 is outside " + boundedRanges + " [203.0.113.0/24]"},
	{desc: "a source range wider than defaultSourceRanges", tok: token("wider", nsPlain, cti, "bounded", zones("example.com"),
		allowFrom("203.0.113.0/25", "203.0.0.0/16")),
		policy: clusterPolicy, rule: ruleRangesOutside,
		denied: "spec.sourceRanges.allow: 203.0.0.0/16 is outside " + boundedRanges + " [203.0.113.0/24]"},
	{desc: "own sourceRanges that allow any address", tok: token("anywhere", nsPlain, cti, "bounded", zones("example.com"),
		denyFrom("203.0.113.7/32")),
		policy: clusterPolicy, rule: ruleRangesEmpty,
		denied: "spec.sourceRanges.allow is empty (any address) but " + boundedRanges + " allows only [203.0.113.0/24]"},
	// ClusterTokenIssuer "selective": namespaceSelector.matchLabels {cloudflare-tokens: allowed}.
	{desc: "a namespace without the selector's label", tok: token("unselected", nsPlain, cti, "selective"),
		policy: clusterPolicy, rule: ruleMatchLabels,
		denied: "metadata.namespace: ClusterTokenIssuer selective does not serve namespace 'plain': " +
			"its spec.namespaceSelector.matchLabels requires cloudflare-tokens=allowed"},
	{desc: "a namespace with the selector's label at another value", tok: token("unselected", nsWrongValue, cti, "selective"),
		policy: clusterPolicy, rule: ruleMatchLabels,
		denied: "metadata.namespace: ClusterTokenIssuer selective does not serve namespace 'wrong-value': " +
			"its spec.namespaceSelector.matchLabels requires cloudflare-tokens=allowed"},
	// ClusterTokenIssuer "expressive": env In (prod, staging), tier NotIn (untrusted), cloudflare-tokens
	// Exists, quarantined DoesNotExist.
	{desc: "a namespace failing matchExpressions In", tok: token("expr", nsExprIn, cti, "expressive"),
		policy: clusterPolicy, rule: ruleMatchExpressions,
		denied: "metadata.namespace: ClusterTokenIssuer expressive does not serve namespace 'expr-in': " +
			"its spec.namespaceSelector.matchExpressions requires env In [prod, staging]"},
	{desc: "a namespace failing matchExpressions NotIn", tok: token("expr", nsExprNotIn, cti, "expressive"),
		policy: clusterPolicy, rule: ruleMatchExpressions,
		denied: "metadata.namespace: ClusterTokenIssuer expressive does not serve namespace 'expr-notin': " +
			"its spec.namespaceSelector.matchExpressions requires tier NotIn [untrusted]"},
	{desc: "a namespace failing matchExpressions Exists", tok: token("expr", nsExprExists, cti, "expressive"),
		policy: clusterPolicy, rule: ruleMatchExpressions,
		denied: "metadata.namespace: ClusterTokenIssuer expressive does not serve namespace 'expr-exists': " +
			"its spec.namespaceSelector.matchExpressions requires cloudflare-tokens Exists"},
	{desc: "a namespace failing matchExpressions DoesNotExist", tok: token("expr", nsExprDNE, cti, "expressive"),
		policy: clusterPolicy, rule: ruleMatchExpressions,
		denied: "metadata.namespace: ClusterTokenIssuer expressive does not serve namespace 'expr-dne': " +
			"its spec.namespaceSelector.matchExpressions requires quarantined DoesNotExist"},

	// TokenIssuer team/local: zones [team.example.com], permissions [DNS Read, DNS Write], maxTTL 200h,
	// defaultSourceRanges.allow [198.51.100.0/24, 2001:db8::/32].
	{desc: "a zone outside a TokenIssuer's allowedZones", tok: token("zone", nsTeam, ti, "local", zones("other.example.com"),
		permissions("DNS Read")),
		policy: tokenPolicy, rule: ruleZones,
		denied: "spec.zones: zone 'other.example.com' is not in " + localZones},
	{desc: "a zone outside a TokenIssuer's allowedZones in spec.policies", tok: token("policy-zone", nsTeam, ti, "local", withPolicies(
		policy([]string{"DNS Read"}, "example.com"))),
		policy: tokenPolicy, rule: rulePolicyZones,
		denied: "spec.policies[0].zones: zone 'example.com' is not in " + localZones},
	{desc: "a permission outside a TokenIssuer's allowedPermissions", tok: token("perm", nsTeam, ti, "local", zones("team.example.com"),
		permissions("DNS Read", "Zone Read")),
		policy: tokenPolicy, rule: rulePermissions,
		denied: "spec.permissions: permission 'Zone Read' is not in " + localPerms},
	{desc: "a permission outside a TokenIssuer's allowedPermissions in spec.policies", tok: token("policy-perm", nsTeam, ti, "local",
		withPolicies(policy([]string{"DNS Read"}, "team.example.com"), policy([]string{"Zone Settings Write"}, "team.example.com"))),
		policy: tokenPolicy, rule: rulePolicyPermissions,
		denied: "spec.policies[1].permissions: permission 'Zone Settings Write' is not in " + localPerms},
	{desc: "an account-wide policy through a TokenIssuer bounded to zones", tok: token("account", nsTeam, ti, "local",
		withPolicies(accountPolicy("DNS Read"))),
		policy: tokenPolicy, rule: ruleAccount,
		denied: accountRefused(0, "TokenIssuer team/local", "[team.example.com]")},
	{desc: "a ttl above a TokenIssuer's maxTTL", tok: token("ttl", nsTeam, ti, "local", zones("team.example.com"),
		permissions("DNS Read"), ttl(300)),
		policy: tokenPolicy, rule: ruleTTL,
		denied: "spec.ttl: 300h0m0s exceeds TokenIssuer team/local's spec.maxTTL 200h0m0s"},
	{desc: "a source range outside a TokenIssuer's defaultSourceRanges", tok: token("range", nsTeam, ti, "local",
		zones("team.example.com"), permissions("DNS Read"), allowFrom("198.51.100.0/25", "203.0.113.0/24")),
		policy: tokenPolicy, rule: ruleRangesOutside,
		denied: "spec.sourceRanges.allow: 203.0.113.0/24 is outside " + localRanges + " [198.51.100.0/24, 2001:db8::/32]"},
	{desc: "an IPv6 source range outside a TokenIssuer's defaultSourceRanges", tok: token("range6", nsTeam, ti, "local",
		zones("team.example.com"), permissions("DNS Read"), allowFrom("2001:db9::/32")),
		policy: tokenPolicy, rule: ruleRangesOutside,
		denied: "spec.sourceRanges.allow: 2001:db9::/32 is outside " + localRanges + " [198.51.100.0/24, 2001:db8::/32]"},
	{desc: "own sourceRanges that allow any address, under a TokenIssuer", tok: token("anywhere", nsTeam, ti, "local",
		zones("team.example.com"), permissions("DNS Read"), denyFrom("198.51.100.7/32")),
		policy: tokenPolicy, rule: ruleRangesEmpty,
		denied: "spec.sourceRanges.allow is empty (any address) but " + localRanges + " allows only [198.51.100.0/24, 2001:db8::/32]"},
}

// admittedRows stay inside their issuer's bounds, or reference an issuer the policies cannot judge.
var admittedRows = []row{
	{desc: "in bounds, names in another case, ttl at maxTTL, a narrower source range", tok: token("in-bounds", nsPlain, cti, "bounded",
		zones("EXAMPLE.com"), permissions("zone read", "DNS WRITE"), ttl(1000), allowFrom("203.0.113.64/26"))},
	{desc: "in bounds in the policies form, without own source ranges", tok: token("in-bounds-policies", nsPlain, cti, "bounded",
		withPolicies(policy([]string{"Zone Read", "DNS Write"}, "example.com"),
			cfv1.Policy{Effect: "deny", Permissions: []string{"DNS Write"}, Zones: []string{"Example.com"}}))},
	{desc: `an issuer allowing "*"`, tok: token("open", nsPlain, cti, "open", withPolicies(
		policy([]string{"Zone Write"}, "anything.org"), accountPolicy("Account Settings Write")), ttl(8000), allowFrom("0.0.0.0/0"))},
	{desc: "a namespace the matchLabels select", tok: token("selected", nsSelected, cti, "selective")},
	{desc: "a namespace meeting every matchExpression", tok: token("expr", nsExprOK, cti, "expressive")},
	{desc: "a namespace meeting NotIn by lacking the label", tok: token("expr", nsExprNoTier, cti, "expressive")},
	{desc: "a ClusterTokenIssuer that does not exist (the controller refuses it)", tok: token("missing", nsPlain, cti, "missing",
		zones("example.org"), ttl(8000))},
	{desc: "a TokenIssuer named like a ClusterTokenIssuer: not judged by the ClusterTokenIssuer", tok: token("kind", nsTeam, ti, "bounded",
		zones("example.org"), ttl(2000))},
	{desc: "a ClusterTokenIssuer named like a TokenIssuer: not judged by the TokenIssuer", tok: token("kind", nsTeam, cti, "local",
		zones("example.org"), ttl(300))},
	{desc: "in a TokenIssuer's bounds, names in another case, ttl at maxTTL, narrower ranges", tok: token("in-bounds", nsTeam, ti, "local",
		zones("TEAM.example.com"), permissions("dns write"), ttl(200), allowFrom("198.51.100.128/25", "2001:db8:1::/48"))},
	{desc: "a TokenIssuer of the token's own namespace, not the same-named one elsewhere", tok: token("other", nsOther, ti, "local",
		zones("example.org"), permissions("Zone Read"), ttl(300))},
	{desc: "a TokenIssuer not in the token's namespace (the controller refuses it)", tok: token("foreign", nsPlain, ti, "local",
		zones("example.org"))},
}

// warnedRows are admitted with the blocked-TLD warning.
var warnedRows = []row{
	{desc: "a .tk zone", tok: token("tk", nsPlain, cti, "open", zones("example.com", "shop.tk")),
		policy: warnPolicy, rule: ruleBlockedZones,
		warning: "spec.zones: " + blockedText + " (zone 'shop.tk')" + blockedSuffix},
	{desc: "a .ML zone in spec.policies", tok: token("ml", nsPlain, cti, "open", withPolicies(
		policy([]string{"Zone Read"}, "example.com"), policy([]string{"DNS Write"}, "Brand.ML"))),
		policy: warnPolicy, rule: ruleBlockedPolicies,
		warning: "spec.policies[1].zones: " + blockedText + " (zone 'Brand.ML')" + blockedSuffix},
	{desc: "a .cf zone", tok: token("cf", nsPlain, cti, "open", zones("a.cf")), policy: warnPolicy, rule: ruleBlockedZones,
		warning: "spec.zones: " + blockedText + " (zone 'a.cf')" + blockedSuffix},
	{desc: "a .ga zone", tok: token("ga", nsPlain, cti, "open", zones("a.ga")), policy: warnPolicy, rule: ruleBlockedZones,
		warning: "spec.zones: " + blockedText + " (zone 'a.ga')" + blockedSuffix},
	{desc: "a .gq zone", tok: token("gq", nsPlain, cti, "open", zones("a.gq")), policy: warnPolicy, rule: ruleBlockedZones,
		warning: "spec.zones: " + blockedText + " (zone 'a.gq')" + blockedSuffix},
	{desc: "no blocked zone: .tk inside a name, .cfd", tok: token("not-blocked", nsPlain, cti, "open",
		zones("tk.example.com", "example.cfd", "mltk.com"))},
}
