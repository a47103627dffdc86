package main

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// A tenant with rights only in their own namespace. The plugin acts with the tenant's credentials and
// nothing else: what RBAC refuses, the plugin cannot do, and a refusal is an error (exit 1) that says so.
func TestTenantActsOnlyWithTheirOwnRights(t *testing.T) {
	own, other := newNamespace(t), newNamespace(t)
	mine := readyToken(t, own, "dns01")
	victim := readyToken(t, other, "dns01")
	tenant := tenantKubeconfig(t, own)

	// In their own namespace everything works, though they may not read the ClusterTokenIssuer.
	r := plugin(t, tenant, "check", "-n", own, "dns01", "--api-url", fake.URL())
	expectExit(t, r, 0)
	expectContains(t, r, "active", mine.Status.TokenID)
	r = plugin(t, tenant, "status", "-n", own, "dns01")
	expectExit(t, r, 0)
	expectContains(t, r, "ClusterTokenIssuer/cloudflare: reading ClusterTokenIssuer cloudflare", "forbidden")
	r = plugin(t, tenant, "issuers", "-n", own)
	expectExit(t, r, 0)
	expectContains(t, r, "note: listing ClusterTokenIssuers", "forbidden")

	// Elsewhere nothing does.
	for _, args := range [][]string{
		{"check", "-n", other, "dns01", "--api-url", fake.URL()},
		{"status", "-n", other, "dns01"},
		{"status", "-A"},
		{"rotate", "-n", other, "dns01", "--wait", "--timeout", "5s"},
	} {
		r := plugin(t, tenant, args...)
		expectExit(t, r, 1)
		expectContains(t, r, "forbidden", `User "tenant-`+own+`"`)
	}
	after := getDNS01(t, other)
	if _, ok := after.Annotations[cfv1.AnnotationRotate]; ok || after.Status.TokenID != victim.Status.TokenID {
		t.Fatalf("the other namespace's token was touched: %v %s", after.Annotations, after.Status.TokenID)
	}
	if !meta.IsStatusConditionTrue(after.Status.Conditions, cfv1.ConditionReady) {
		t.Fatalf("the other namespace's token is no longer Ready: %+v", after.Status.Conditions)
	}
}

// tenantKubeconfig is a user who may read and annotate CloudflareTokens, read Secrets and events and list
// TokenIssuers, in ns only.
func tenantKubeconfig(t *testing.T, ns string) string {
	t.Helper()
	ctx := context.Background()
	user := "tenant-" + ns
	role := &rbacv1.Role{ObjectMeta: objMeta(ns, "cftoken-user"), Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{cfv1.GroupVersion.Group}, Resources: []string{"cloudflaretokens"}, Verbs: []string{"get", "list", "patch"}},
		{APIGroups: []string{cfv1.GroupVersion.Group}, Resources: []string{"tokenissuers"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"list"}},
	}}
	binding := &rbacv1.RoleBinding{ObjectMeta: objMeta(ns, "cftoken-user"),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}}
	if err := k8s.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	path, err := writeKubeconfig(user, envtestUser(user))
	if err != nil {
		t.Fatal(err)
	}
	return path
}
