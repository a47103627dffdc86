package main

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/yaml"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

func TestStatusTableOfReadyTokens(t *testing.T) {
	ns := newNamespace(t)
	a, b := readyToken(t, ns, "dns01"), readyToken(t, ns, "dns02")

	r := plugin(t, adminKubeconfig, "status", "-n", ns)
	expectExit(t, r, 0)
	expectContains(t, r, "NAME", "READY", "ISSUER", "TOKEN ID", "EXPIRES", "RENEWS", "RETIRING", "LAST FAILURE",
		"dns01", "dns02", a.Status.TokenID, b.Status.TokenID, "ClusterTokenIssuer/cloudflare", "in 6d")
	if strings.Contains(r.stdout, "NAMESPACE") {
		t.Errorf("one namespace needs no NAMESPACE column:\n%s", r)
	}

	var list struct {
		Items []struct {
			Namespace, Name, Ready, TokenID string
			RetiringTokens                  int
		}
	}
	r = plugin(t, adminKubeconfig, "status", "-n", ns, "-o", "json")
	expectExit(t, r, 0)
	decodeJSON(t, r, &list)
	if len(list.Items) != 2 || list.Items[0].TokenID != a.Status.TokenID || list.Items[1].Ready != "True" {
		t.Fatalf("json items: %+v", list.Items)
	}

	// -A shows every namespace, the other tests' too: exit 0 only if all of them are Ready.
	r = plugin(t, adminKubeconfig, "status", "-A")
	expectContains(t, r, "NAMESPACE", ns)
	all := &cfv1.CloudflareTokenList{}
	if err := k8s.List(context.Background(), all); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, tok := range all.Items {
		if !strings.Contains(r.stdout, tok.Namespace) {
			t.Errorf("-A does not show namespace %s", tok.Namespace)
		}
		if !meta.IsStatusConditionTrue(tok.Status.Conditions, cfv1.ConditionReady) {
			want = 1
		}
	}
	expectExit(t, r, want)
}

func TestStatusExitsOneWhenATokenIsNotReady(t *testing.T) {
	ns := newNamespace(t)
	readyToken(t, ns, "good")
	createToken(t, ns, "orphan", func(tok *cfv1.CloudflareToken) { tok.Spec.IssuerRef.Name = "no-such-issuer" })
	waitFor(t, ns, "orphan", "refused", func(tok *cfv1.CloudflareToken) bool { return len(tok.Status.Conditions) > 0 })

	r := plugin(t, adminKubeconfig, "status", "-n", ns)
	expectExit(t, r, 1)
	expectContains(t, r, "good", "orphan", "False", "ClusterTokenIssuer/no-such-issuer")

	r = plugin(t, adminKubeconfig, "status", "-n", ns, "orphan")
	expectExit(t, r, 1)
	expectContains(t, r, "Ready:", "False", "no-such-issuer", "not found")

	r = plugin(t, adminKubeconfig, "status", "-n", ns, "good")
	expectExit(t, r, 0)

	r = plugin(t, adminKubeconfig, "status", "-n", ns, "missing")
	expectExit(t, r, 1)
	expectContains(t, r, `"missing" not found`)
}

func TestStatusStoryOfOneToken(t *testing.T) {
	ns := newNamespace(t)
	first := readyToken(t, ns, "dns01")
	expectExit(t, plugin(t, adminKubeconfig, "rotate", "-n", ns, "dns01", "--wait", "--timeout", "30s"), 0)
	tok := getDNS01(t, ns)

	r := plugin(t, adminKubeconfig, "status", "-n", ns, "dns01")
	expectExit(t, r, 0)
	expectContains(t, r,
		"Ready:", "True (TokenReady): Secret dns01 holds token "+tok.Status.TokenID,
		"Issuer:", "ClusterTokenIssuer/cloudflare: Ready True",
		"Secret:", "dns01 (key api-token)",
		"Token ID:", tok.Status.TokenID,
		"Zones:", "example.com", "Permissions:", "DNS Write",
		"Expires:", "Renews:", "Last rotate request:", tok.Status.LastRotateRequest,
		"Conditions:", "Reconciling",
		"Retiring tokens:", first.Status.TokenID, "REVOKE AT",
		// Fields this plugin has no line for still show: the operator's record of who minted each token.
		"mintedBy=", "Other status fields:", "mintedBy: {",
		"Events:", "Minted", "Rotated")

	var story struct {
		Name   string
		Ready  string
		Issuer struct {
			Kind       string
			TokenQuota int32
		}
		Status struct {
			TokenID        string `json:"tokenID"`
			RetiringTokens []struct {
				ID string `json:"id"`
			} `json:"retiringTokens"`
		}
		Events []struct{ Reason string }
	}
	r = plugin(t, adminKubeconfig, "status", "-n", ns, "dns01", "-o", "yaml")
	expectExit(t, r, 0)
	if err := yaml.Unmarshal([]byte(r.stdout), &story); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, r)
	}
	if story.Ready != "True" || story.Issuer.Kind != cfv1.KindClusterTokenIssuer || story.Issuer.TokenQuota != 50 ||
		story.Status.TokenID != tok.Status.TokenID || len(story.Status.RetiringTokens) != 1 ||
		story.Status.RetiringTokens[0].ID != first.Status.TokenID || len(story.Events) < 2 {
		t.Fatalf("yaml story: %+v\n%s", story, r)
	}
}
