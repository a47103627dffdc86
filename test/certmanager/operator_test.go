package certmanager

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller"
	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

// TestSolverWithAMintedToken is the product's promise end to end: a CloudflareToken for zones
// [example.com] and permissions [Zone Read, DNS Write] gives a Secret whose api-token cert-manager's own
// DNS-01 solver can use, as an Issuer's apiTokenSecretRef would hand it over.
func TestSolverWithAMintedToken(t *testing.T) {
	for _, k := range []string{"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL", "CLOUDFLARE_BASE_URL"} {
		t.Setenv(k, "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	env, err := testutil.StartEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	c := env.Client

	srv := cloudflaretest.NewServer()
	defer srv.Close()
	if _, err := testutil.StartManager(ctx, env.Config, testutil.ManagerOptions(env.Scheme, nil), controller.Config{
		CloudflareAPIURL: srv.URL(), ClusterName: "certmanager-test",
		OperatorNamespace: "cloudflare-token-operator", APIRequestsPer5m: 1000}, func(error) {}); err != nil {
		t.Fatal(err)
	}

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{"cloudflare-token-operator", "cert-manager"} {
		must(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}
	must(c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cf-parent", Namespace: "cloudflare-token-operator"},
		StringData: map[string]string{"api-token": srv.UserParentToken()}}))
	must(c.Create(ctx, &cfv1.ClusterTokenIssuer{ObjectMeta: metav1.ObjectMeta{Name: "cloudflare"},
		Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: "cf-parent"},
			AllowedZones: []string{"example.com"}, AllowedPermissions: []string{"Zone Read", "DNS Write"}}}}))
	must(c.Create(ctx, &cfv1.CloudflareToken{ObjectMeta: metav1.ObjectMeta{Name: "dns01", Namespace: "cert-manager"},
		Spec: cfv1.CloudflareTokenSpec{IssuerRef: cfv1.IssuerRef{Kind: "ClusterTokenIssuer", Name: "cloudflare"},
			Zones: []string{"example.com"}, Permissions: []string{"Zone Read", "DNS Write"}}}))

	var value string
	for value == "" {
		tok := &cfv1.CloudflareToken{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: "cert-manager", Name: "dns01"}, tok); err == nil &&
			meta.IsStatusConditionTrue(tok.Status.Conditions, cfv1.ConditionReady) {
			sec := &corev1.Secret{}
			must(c.Get(ctx, types.NamespacedName{Namespace: "cert-manager", Name: tok.Status.SecretName}, sec))
			value = string(sec.Data["api-token"])
		}
		select {
		case <-ctx.Done():
			t.Fatal("the CloudflareToken never became Ready")
		case <-time.After(100 * time.Millisecond):
		}
	}

	zone := srv.ZoneID("example.com")
	if err := Solve(srv.URL(), value, "www.example.com", func() error {
		if n := len(srv.DNSRecords(zone)); n != 1 {
			t.Errorf("Present left %d records, want the one TXT record", n)
		}
		return nil
	}); err != nil {
		t.Fatalf("cert-manager's solver failed with the minted token: %v", err)
	}
	if n := len(srv.DNSRecords(zone)); n != 0 {
		t.Fatalf("CleanUp left %d records", n)
	}
	// The same token must not reach a zone it was not minted for.
	if err := Solve(srv.URL(), value, "www.example.org", nil); err == nil {
		t.Fatal("the minted token reached example.org, which it was not minted for")
	}
}
