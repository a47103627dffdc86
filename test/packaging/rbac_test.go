package packaging

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// TestManagerRBACIsLeastPrivilege lists every rule the manager's ClusterRole grants (go test -v prints
// them) and fails on wildcards, on privilege-escalation verbs, and on any write the lifecycle does not need.
func TestManagerRBACIsLeastPrivilege(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(raw, role); err != nil {
		t.Fatal(err)
	}
	if len(role.Rules) == 0 {
		t.Fatal("config/rbac/role.yaml grants nothing")
	}
	// What the lifecycle writes, and nothing else: resource -> verbs allowed beyond get/list/watch.
	writes := map[string][]string{
		"/secrets":         {"create", "update", "patch", "delete"},
		"apps/deployments": {"patch"},
		"cloudflare.tokenoperator.dev/cloudflaretokens":            {"update", "patch"},
		"cloudflare.tokenoperator.dev/cloudflaretokens/status":     {"update", "patch"},
		"cloudflare.tokenoperator.dev/cloudflaretokens/finalizers": {"update"},
		"cloudflare.tokenoperator.dev/tokenissuers/status":         {"update", "patch"},
		"cloudflare.tokenoperator.dev/clustertokenissuers/status":  {"update", "patch"},
		// The in-use finalizer on issuers: added and removed with patches.
		"cloudflare.tokenoperator.dev/tokenissuers":                   {"update", "patch"},
		"cloudflare.tokenoperator.dev/clustertokenissuers":            {"update", "patch"},
		"cloudflare.tokenoperator.dev/tokenissuers/finalizers":        {"update"},
		"cloudflare.tokenoperator.dev/clustertokenissuers/finalizers": {"update"},
		"events.k8s.io/events":                                        {"create", "patch"},
	}
	reads := map[string]bool{"get": true, "list": true, "watch": true}
	for _, rule := range role.Rules {
		for _, field := range [][]string{rule.APIGroups, rule.Resources, rule.Verbs} {
			if slices.Contains(field, "*") {
				t.Errorf("wildcard in rule %+v", rule)
			}
		}
		if len(rule.NonResourceURLs) > 0 || len(rule.ResourceNames) > 0 {
			t.Errorf("unexpected non-resource URLs or resource names in %+v", rule)
		}
		for _, g := range rule.APIGroups {
			for _, r := range rule.Resources {
				key := g + "/" + r
				for _, v := range rule.Verbs {
					t.Logf("grants %-8s %s", v, key)
					switch {
					case v == "escalate" || v == "bind" || v == "impersonate":
						t.Errorf("%s on %s: the operator never needs to escalate, bind or impersonate", v, key)
					case reads[v]:
					case !slices.Contains(writes[key], v):
						t.Errorf("%s on %s is a write the lifecycle does not need", v, key)
					}
				}
			}
		}
	}
	if t.Failed() {
		t.Log(strings.TrimSpace(fmt.Sprint(role.Rules)))
	}
}
