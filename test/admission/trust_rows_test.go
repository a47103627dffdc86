package admission_test

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// The trust boundary as admission sees it (design.md, "Trust boundary"): allowedZones and
// allowedPermissions fail closed, "*" allows any, ids are left to the controller (which resolves them),
// and groups that create or read tokens are refused whatever the issuer lists.

// Ids as Cloudflare writes them: a zone, two zone-scoped groups, and the token groups with a known id.
const (
	zoneID                  = "023e105f4ecef8ad9ca31a8372d0c353"
	zoneReadID              = "c8fed203ed3043cba015a93ad1616f1f"
	dnsWriteID              = "4755a26eedb94da69e1066d98aa820be"
	apiTokensWriteID        = "686d18d5ac6c441c867cbf6771e58a0a"
	accountAPITokensWriteID = "5bc3f8b21c554832afc660159ab75fa4"
	accountAPITokensReadID  = "eb56a6953c034b9d97dd838155666f06"
)

// emptyList is the refusal of a zone or permission (kind) of field through an issuer whose list is empty.
func emptyList(field, kind, value, issuer string) string {
	list := map[string]string{"zone": "allowedZones", "permission": "allowedPermissions"}[kind]
	return fmt.Sprintf("%s: %s '%s' is not allowed: %s's spec.%s is empty, which allows nothing (fail closed)",
		field, kind, value, issuer, list)
}

// tokenGroup is the refusal of a permission group that creates or reads tokens.
func tokenGroup(field, perm, issuer string) string {
	return fmt.Sprintf("%s: permission '%s' can create or read tokens: never minted, whatever %s allows "+
		"(a minted token must never be able to mint or read tokens)", field, perm, issuer)
}

func createTrustFixtures() {
	clusterIssuers := []*cfv1.ClusterTokenIssuer{
		{ObjectMeta: metav1.ObjectMeta{Name: "zoneless"}, Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
			APITokenSecretRef: credential(), AllowedPermissions: []string{"*"},
		}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "permissionless"}, Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
			APITokenSecretRef: credential(), AllowedZones: []string{"*"},
		}}},
		// Lists every group that mints or reads tokens, by name and by id: admission refuses them anyway.
		{ObjectMeta: metav1.ObjectMeta{Name: "lists-token-groups"}, Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
			APITokenSecretRef: credential(), AllowedZones: []string{"example.com"},
			AllowedPermissions: []string{"Zone Read", "API Tokens Write", "API Tokens Read", "Account API Tokens Write",
				"Account API Tokens Read", apiTokensWriteID, accountAPITokensWriteID, accountAPITokensReadID},
		}}},
		// Bounds given by id only: a name may resolve to one of them, which only the controller can tell.
		{ObjectMeta: metav1.ObjectMeta{Name: "by-id"}, Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
			APITokenSecretRef: credential(), AllowedZones: []string{zoneID}, AllowedPermissions: []string{dnsWriteID},
		}}},
	}
	for _, iss := range clusterIssuers {
		Expect(k8sClient.Create(ctx, iss)).To(Succeed())
	}
	Expect(k8sClient.Create(ctx, &cfv1.TokenIssuer{ObjectMeta: metav1.ObjectMeta{Name: "zoneless", Namespace: nsTeam},
		Spec: cfv1.IssuerSpec{APITokenSecretRef: credential(), AllowedPermissions: []string{"*"}}})).To(Succeed())

	// The same bounds with the list written empty ([]) rather than left out (the Go types omit it).
	createWithEmptyList(&cfv1.ClusterTokenIssuer{ObjectMeta: metav1.ObjectMeta{Name: "zones-emptied"},
		Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
			APITokenSecretRef: credential(), AllowedPermissions: []string{"*"},
		}}}, "allowedZones")
	createWithEmptyList(&cfv1.ClusterTokenIssuer{ObjectMeta: metav1.ObjectMeta{Name: "permissions-emptied"},
		Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
			APITokenSecretRef: credential(), AllowedZones: []string{"*"},
		}}}, "allowedPermissions")
	createWithEmptyList(&cfv1.TokenIssuer{ObjectMeta: metav1.ObjectMeta{Name: "permissions-emptied", Namespace: nsTeam},
		Spec: cfv1.IssuerSpec{APITokenSecretRef: credential(), AllowedZones: []string{"*"}}}, "allowedPermissions")
}

// createWithEmptyList creates an issuer with spec.<field>: [] and checks that the API server keeps it so.
func createWithEmptyList(iss client.Object, field string) {
	GinkgoHelper()
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(iss)
	Expect(err).NotTo(HaveOccurred())
	obj := &unstructured.Unstructured{Object: raw}
	gvk, err := k8sClient.GroupVersionKindFor(iss)
	Expect(err).NotTo(HaveOccurred())
	obj.SetGroupVersionKind(gvk)
	Expect(unstructured.SetNestedSlice(obj.Object, []any{}, "spec", field)).To(Succeed())
	Expect(k8sClient.Create(ctx, obj)).To(Succeed())
	stored, found, err := unstructured.NestedSlice(obj.Object, "spec", field)
	Expect(err).NotTo(HaveOccurred())
	Expect(found).To(BeTrue(), "%s %s: spec.%s [] was dropped", gvk.Kind, iss.GetName(), field)
	Expect(stored).To(BeEmpty())
}

// trustDeniedRows: each is denied by exactly one validation.
var trustDeniedRows = []row{
	// Fail closed: an empty or absent list allows nothing, ids included.
	{desc: "a zone through an issuer without allowedZones", tok: token("closed", nsPlain, cti, "zoneless", zones("example.com")),
		policy: clusterPolicy, rule: ruleZones,
		denied: emptyList("spec.zones", "zone", "example.com", "ClusterTokenIssuer zoneless")},
	{desc: "a zone id in spec.policies through an issuer whose allowedZones is []", tok: token("closed", nsPlain, cti, "zones-emptied",
		withPolicies(policy([]string{"DNS Write"}, zoneID))),
		policy: clusterPolicy, rule: rulePolicyZones,
		denied: emptyList("spec.policies[0].zones", "zone", zoneID, "ClusterTokenIssuer zones-emptied")},
	{desc: "a permission through an issuer without allowedPermissions", tok: token("closed", nsPlain, cti, "permissionless",
		zones("example.com")),
		policy: clusterPolicy, rule: rulePermissions,
		denied: emptyList("spec.permissions", "permission", "Zone Read", "ClusterTokenIssuer permissionless")},
	{desc: "a permission id in spec.policies through an issuer whose allowedPermissions is []", tok: token("closed", nsPlain, cti,
		"permissions-emptied", withPolicies(policy([]string{dnsWriteID}, "example.com"))),
		policy: clusterPolicy, rule: rulePolicyPermissions,
		denied: emptyList("spec.policies[0].permissions", "permission", dnsWriteID, "ClusterTokenIssuer permissions-emptied")},
	{desc: "an account-wide policy through an issuer without allowedZones", tok: token("closed-account", nsPlain, cti, "zoneless",
		withPolicies(accountPolicy("Account Settings Read"))),
		policy: clusterPolicy, rule: ruleAccount,
		denied: accountRefused(0, "ClusterTokenIssuer zoneless", "[]")},
	{desc: "an account-wide policy through an issuer whose allowedZones is []", tok: token("closed-account", nsPlain, cti,
		"zones-emptied", withPolicies(accountPolicy("Account Settings Read"))),
		policy: clusterPolicy, rule: ruleAccount,
		denied: accountRefused(0, "ClusterTokenIssuer zones-emptied", "[]")},

	// Groups that create or read tokens: refused through "*" and through an issuer that lists them.
	{desc: `"API Tokens Write" through an issuer allowing "*"`, tok: token("mint", nsPlain, cti, "open", zones("example.com"),
		permissions("Zone Read", "API Tokens Write")),
		policy: clusterPolicy, rule: ruleTokenGroups,
		denied: tokenGroup("spec.permissions", "API Tokens Write", "ClusterTokenIssuer open")},
	{desc: `"Account API Tokens Write" by id through an issuer allowing "*"`, tok: token("mint", nsPlain, cti, "open",
		zones("example.com"), permissions(accountAPITokensWriteID)),
		policy: clusterPolicy, rule: ruleTokenGroups,
		denied: tokenGroup("spec.permissions", accountAPITokensWriteID, "ClusterTokenIssuer open")},
	{desc: `"API Tokens Read" through an issuer that lists it`, tok: token("mint", nsPlain, cti, "lists-token-groups",
		zones("example.com"), permissions("API Tokens Read")),
		policy: clusterPolicy, rule: ruleTokenGroups,
		denied: tokenGroup("spec.permissions", "API Tokens Read", "ClusterTokenIssuer lists-token-groups")},
	{desc: `"account api tokens read" in spec.policies through an issuer that lists it`, tok: token("mint", nsPlain, cti,
		"lists-token-groups", withPolicies(policy([]string{"Zone Read"}, "example.com"),
			policy([]string{"account api tokens read"}, "example.com"))),
		policy: clusterPolicy, rule: rulePolicyTokenGroups,
		denied: tokenGroup("spec.policies[1].permissions", "account api tokens read", "ClusterTokenIssuer lists-token-groups")},
	{desc: `"API Tokens Write" and "Account API Tokens Read" by id in spec.policies through an issuer that lists them`,
		tok: token("mint", nsPlain, cti, "lists-token-groups", withPolicies(
			policy([]string{apiTokensWriteID}, "example.com"), policy([]string{accountAPITokensReadID}, "example.com"))),
		policy: clusterPolicy, rule: rulePolicyTokenGroups,
		denied: tokenGroup("spec.policies[0].permissions", apiTokensWriteID, "ClusterTokenIssuer lists-token-groups")},

	// The same through TokenIssuers: team/zoneless, team/permissions-emptied, other/local ("*").
	{desc: "a zone through a TokenIssuer without allowedZones", tok: token("closed", nsTeam, ti, "zoneless", zones("team.example.com")),
		policy: tokenPolicy, rule: ruleZones,
		denied: emptyList("spec.zones", "zone", "team.example.com", "TokenIssuer team/zoneless")},
	{desc: "an account-wide policy through a TokenIssuer without allowedZones", tok: token("closed-account", nsTeam, ti, "zoneless",
		withPolicies(accountPolicy("Account Settings Read"))),
		policy: tokenPolicy, rule: ruleAccount,
		denied: accountRefused(0, "TokenIssuer team/zoneless", "[]")},
	{desc: "a permission id through a TokenIssuer whose allowedPermissions is []", tok: token("closed", nsTeam, ti,
		"permissions-emptied", zones("team.example.com"), permissions(zoneReadID)),
		policy: tokenPolicy, rule: rulePermissions,
		denied: emptyList("spec.permissions", "permission", zoneReadID, "TokenIssuer team/permissions-emptied")},
	{desc: "a permission in spec.policies through a TokenIssuer whose allowedPermissions is []", tok: token("closed", nsTeam, ti,
		"permissions-emptied", withPolicies(policy([]string{"DNS Read"}, "team.example.com"))),
		policy: tokenPolicy, rule: rulePolicyPermissions,
		denied: emptyList("spec.policies[0].permissions", "permission", "DNS Read", "TokenIssuer team/permissions-emptied")},
	{desc: `"Account API Tokens Write" through a TokenIssuer allowing "*"`, tok: token("mint", nsOther, ti, "local",
		zones("example.org"), permissions("Account API Tokens Write")),
		policy: tokenPolicy, rule: ruleTokenGroups,
		denied: tokenGroup("spec.permissions", "Account API Tokens Write", "TokenIssuer other/local")},
	{desc: `"API Tokens Write" by id in spec.policies through a TokenIssuer allowing "*"`, tok: token("mint", nsOther, ti, "local",
		withPolicies(policy([]string{"DNS Write"}, "example.org"), policy([]string{apiTokensWriteID}, "example.org"))),
		policy: tokenPolicy, rule: rulePolicyTokenGroups,
		denied: tokenGroup("spec.policies[1].permissions", apiTokensWriteID, "TokenIssuer other/local")},
}

// trustAdmittedRows are left to the controller: admission must never refuse what it may allow.
var trustAdmittedRows = []row{
	{desc: "a zone and a permission by id through an issuer that lists names (the controller resolves them)",
		tok: token("ids", nsPlain, cti, "bounded", zones(zoneID), permissions(dnsWriteID))},
	{desc: "ids in spec.policies, a zone id in upper case (the controller resolves zone ids without case)",
		tok: token("ids", nsPlain, cti, "bounded", withPolicies(policy([]string{zoneReadID, "DNS Write"}, strings.ToUpper(zoneID))))},
	{desc: "names with spaces around and a zone with its trailing dot (the controller trims them)",
		tok: token("spelling", nsPlain, cti, "bounded", zones(" Example.com. "), permissions(" zone read", "DNS Write "))},
	{desc: "names through an issuer that lists ids only (a name may resolve to a listed id)",
		tok: token("names", nsPlain, cti, "by-id", zones("example.com"), permissions("DNS Write"))},
	{desc: `an account-scoped permission name through an issuer allowing "*" (only the controller knows its scope)`,
		tok: token("account-name", nsPlain, cti, "open", zones("example.com"), permissions("Account Settings Write"))},
	{desc: "a zone and a permission by id through a TokenIssuer that lists names",
		tok: token("ids", nsTeam, ti, "local", zones(zoneID), permissions(dnsWriteID))},
}
