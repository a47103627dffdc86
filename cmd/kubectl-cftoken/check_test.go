package main

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

type checkOut struct {
	State, TokenID, StatusTokenID, SecretAnnotationTokenID string
	MatchesStatus, Healthy                                 bool
	Problems                                               []string
}

func TestCheckActiveToken(t *testing.T) {
	ns := newNamespace(t)
	tok := readyToken(t, ns, "dns01")
	verifies := fake.RequestCount("GET", "/user/tokens/verify")

	r := plugin(t, adminKubeconfig, "check", "-n", ns, "dns01", "--api-url", fake.URL())
	expectExit(t, r, 0)
	expectContains(t, r, "State:", "active", tok.Status.TokenID+" (matches status.tokenID", "Verdict:", "healthy")
	if n := fake.RequestCount("GET", "/user/tokens/verify"); n != verifies+1 {
		t.Fatalf("check asked Cloudflare's verify endpoint %d times, want once", n-verifies)
	}

	var out checkOut
	r = plugin(t, adminKubeconfig, "check", "-n", ns, "dns01", "--api-url", fake.URL(), "-o", "json")
	expectExit(t, r, 0)
	decodeJSON(t, r, &out)
	if out.State != "active" || out.TokenID != tok.Status.TokenID || !out.MatchesStatus || !out.Healthy ||
		out.SecretAnnotationTokenID != tok.Status.TokenID {
		t.Fatalf("json: %+v", out)
	}
}

func TestCheckRevokedToken(t *testing.T) {
	ns := newNamespace(t)
	tok := readyToken(t, ns, "dns01")
	fake.RevokeOutOfBand(tok.Status.TokenID)

	r := plugin(t, adminKubeconfig, "check", "-n", ns, "dns01", "--api-url", fake.URL())
	expectExit(t, r, 1)
	expectContains(t, r, "State:", "unknown", "NOT healthy", "Invalid API Token", "revoked")

	var out checkOut
	r = plugin(t, adminKubeconfig, "check", "-n", ns, "dns01", "--api-url", fake.URL(), "-o", "json")
	expectExit(t, r, 1)
	decodeJSON(t, r, &out)
	if out.State != "unknown" || out.Healthy || out.MatchesStatus || out.StatusTokenID != tok.Status.TokenID || len(out.Problems) == 0 {
		t.Fatalf("json: %+v", out)
	}
}

func TestCheckWithoutCloudflareIsAnError(t *testing.T) {
	ns := newNamespace(t)
	readyToken(t, ns, "dns01")
	r := plugin(t, adminKubeconfig, "check", "-n", ns, "dns01", "--api-url", "http://127.0.0.1:1/client/v4")
	expectExit(t, r, 1)
	expectContains(t, r, "asking Cloudflare about the value", "cannot talk to Cloudflare")
}

// A CloudflareToken naming a Secret it does not control (here one holding the parent credential): the
// operator refuses to write it, and check refuses to send its value anywhere.
func TestCheckNeverSendsAForeignSecret(t *testing.T) {
	ns := newNamespace(t)
	if err := k8s.Create(context.Background(), &corev1.Secret{ObjectMeta: objMeta(ns, "someone-elses"),
		Data: map[string][]byte{"api-token": []byte(fake.UserParentToken())}}); err != nil {
		t.Fatal(err)
	}
	createToken(t, ns, "sneaky", func(tok *cfv1.CloudflareToken) { tok.Spec.Secret.Name = "someone-elses" })
	waitFor(t, ns, "sneaky", "refused", func(tok *cfv1.CloudflareToken) bool { return len(tok.Status.Conditions) > 0 })
	verifies := fake.TotalRequests()

	r := plugin(t, adminKubeconfig, "check", "-n", ns, "sneaky", "--api-url", fake.URL())
	expectExit(t, r, 1)
	expectContains(t, r, "someone-elses is not controlled by CloudflareToken "+ns+"/sneaky", "not sent anywhere")
	if n := fake.TotalRequests(); n != verifies {
		t.Fatalf("Cloudflare received %d requests during check", n-verifies)
	}
}

func TestCheckMissingSecret(t *testing.T) {
	ns := newNamespace(t)
	createToken(t, ns, "never", func(tok *cfv1.CloudflareToken) { tok.Spec.IssuerRef.Name = "no-such-issuer" })
	r := plugin(t, adminKubeconfig, "check", "-n", ns, "never", "--api-url", fake.URL())
	expectExit(t, r, 1)
	expectContains(t, r, "State:", "missing", "Secret "+ns+"/never does not exist")
}

// An account-owned token verifies only on its account's path; the status records whose token it is, so a
// tenant who may not read the ClusterTokenIssuer still checks it.
func TestCheckAccountOwnedToken(t *testing.T) {
	ctx := context.Background()
	if err := k8s.Create(ctx, &corev1.Secret{ObjectMeta: objMeta(operatorNamespace, "cf-account-parent"),
		Data: map[string][]byte{"api-token": []byte(fake.AccountParentToken(fake.AccountID()))}}); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Create(ctx, &cfv1.ClusterTokenIssuer{ObjectMeta: objMeta("", "cloudflare-account"),
		Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
			APITokenSecretRef: &cfv1.SecretKeyRef{Name: "cf-account-parent"}, AccountID: fake.AccountID(),
			TokenOwner: cfv1.TokenOwnerAccount, AllowedZones: []string{"*"}, AllowedPermissions: []string{"*"},
		}}}); err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	createToken(t, ns, "dns01", func(tok *cfv1.CloudflareToken) { tok.Spec.IssuerRef.Name = "cloudflare-account" })
	tok := waitReady(t, ns, "dns01")
	accountVerifies := fake.RequestCount("GET", "/accounts/{account_id}/tokens/verify")

	r := plugin(t, tenantKubeconfig(t, ns), "check", "-n", ns, "dns01", "--api-url", fake.URL())
	expectExit(t, r, 0)
	expectContains(t, r, "active", tok.Status.TokenID+" (matches status.tokenID")
	if n := fake.RequestCount("GET", "/accounts/{account_id}/tokens/verify"); n != accountVerifies+1 {
		t.Fatalf("the account's verify endpoint was asked %d times, want once", n-accountVerifies)
	}
}
