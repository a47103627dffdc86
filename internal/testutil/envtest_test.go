package testutil_test

import (
	"context"
	"strings"
	"testing"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

// A suite without kube-apiserver and etcd must fail and say how to get them, never skip.
func TestAssetsDirFailsWithoutBinaries(t *testing.T) {
	t.Setenv("KUBEBUILDER_ASSETS", t.TempDir())
	if _, err := testutil.AssetsDir(); err == nil || !strings.Contains(err.Error(), "make envtest") {
		t.Fatalf("AssetsDir() on an empty directory = %v, want an error naming `make envtest`", err)
	}
	if _, err := testutil.StartEnv(); err == nil {
		t.Fatal("StartEnv() without binaries succeeded")
	}
}

// StartEnv serves the operator's kinds (the CRDs are installed) to a client that knows them.
func TestStartEnvInstallsCRDs(t *testing.T) {
	env, err := testutil.StartEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	ctx := context.Background()
	if err := env.Client.List(ctx, &cfv1.CloudflareTokenList{}); err != nil {
		t.Errorf("listing CloudflareTokens: %v", err)
	}
	if err := env.Client.List(ctx, &cfv1.ClusterTokenIssuerList{}); err != nil {
		t.Errorf("listing ClusterTokenIssuers: %v", err)
	}
	fast, err := env.NewClient(testutil.QPS(500, 1000))
	if err != nil {
		t.Fatal(err)
	}
	if err := fast.Create(ctx, testutil.ParentSecret("default", "cf-parent", "not-a-real-token")); err != nil {
		t.Errorf("creating a parent Secret: %v", err)
	}
	if err := fast.Create(ctx, testutil.OpenClusterIssuer("open", "cf-parent", "", "")); err != nil {
		t.Errorf("creating an open ClusterTokenIssuer: %v", err)
	}
	if err := testutil.ClusterIssuerReady(ctx, fast, "open"); err == nil || !strings.Contains(err.Error(), "no Ready condition") {
		t.Errorf("ClusterIssuerReady with no operator running = %v, want an error saying it has no Ready condition", err)
	}
}
