package main

import (
	"context"
	"testing"

	"k8s.io/utils/ptr"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

func TestIssuers(t *testing.T) {
	ns := newNamespace(t)
	readyToken(t, ns, "dns01") // so that the issuer holds a token

	r := plugin(t, adminKubeconfig, "issuers", "-n", ns)
	expectExit(t, r, 0)
	expectContains(t, r, "KIND", "READY", "TOKENS", "CREDENTIAL EXPIRES", "BOUNDS",
		"ClusterTokenIssuer", issuerName, "True", "/50", "zones *; permissions *")

	// A TokenIssuer whose credential Secret does not exist is not Ready: exit 1, with its reason.
	if err := k8s.Create(context.Background(), &cfv1.TokenIssuer{ObjectMeta: objMeta(ns, "local"),
		Spec: cfv1.IssuerSpec{APITokenSecretRef: &cfv1.SecretKeyRef{Name: "absent"},
			AllowedZones: []string{"example.com"}, AllowedPermissions: []string{"DNS Write"},
			MaxTokensPerNamespace: ptr.To[int32](2)}}); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			Kind, Namespace, Name, Ready, Reason string
			AllowedZones                         []string
			Status                               map[string]any
		}
	}
	waitIssuerReported(t, ns, "local")
	r = plugin(t, adminKubeconfig, "issuers", "-n", ns, "-o", "json")
	expectExit(t, r, 1)
	decodeJSON(t, r, &list)
	var local, cluster bool
	for _, i := range list.Items {
		switch {
		case i.Kind == cfv1.KindTokenIssuer && i.Name == "local":
			local = i.Ready == "False" && i.Reason != "" && i.AllowedZones[0] == "example.com" && i.Status["conditions"] != nil
		case i.Kind == cfv1.KindClusterTokenIssuer && i.Name == issuerName:
			cluster = i.Ready == "True"
		}
	}
	if !local || !cluster {
		t.Fatalf("issuers json: %+v", list.Items)
	}
	r = plugin(t, adminKubeconfig, "issuers", "-n", ns)
	expectExit(t, r, 1)
	expectContains(t, r, "TokenIssuer", ns, "local", "False", "zones example.com; permissions DNS Write; 2 per namespace")
}

func waitIssuerReported(t *testing.T, ns, name string) {
	t.Helper()
	for range 300 {
		iss := &cfv1.TokenIssuer{}
		if err := k8s.Get(context.Background(), keyOf(ns, name), iss); err == nil && len(iss.Status.Conditions) > 0 {
			return
		}
		sleepTick()
	}
	t.Fatalf("TokenIssuer %s/%s got no conditions", ns, name)
}
