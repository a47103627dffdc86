package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

var nsCounter atomic.Int32

func objMeta(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

// newNamespace makes a namespace of its own for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("team-%d", nsCounter.Add(1))
	if err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: objMeta("", name)}); err != nil {
		t.Fatal(err)
	}
	return name
}

// createToken creates a CloudflareToken for [example.com] with Zone Read and DNS Write.
func createToken(t *testing.T, ns, name string, mutate ...func(*cfv1.CloudflareToken)) {
	t.Helper()
	tok := &cfv1.CloudflareToken{ObjectMeta: objMeta(ns, name), Spec: cfv1.CloudflareTokenSpec{
		IssuerRef:   cfv1.IssuerRef{Kind: cfv1.KindClusterTokenIssuer, Name: issuerName},
		Zones:       []string{"example.com"},
		Permissions: []string{"Zone Read", "DNS Write"},
	}}
	for _, m := range mutate {
		m(tok)
	}
	if err := k8s.Create(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}

// readyToken creates a token and waits until it is Ready.
func readyToken(t *testing.T, ns, name string) *cfv1.CloudflareToken {
	t.Helper()
	createToken(t, ns, name)
	return waitReady(t, ns, name)
}

// waitReady waits until the token is Ready with a token.
func waitReady(t *testing.T, ns, name string) *cfv1.CloudflareToken {
	t.Helper()
	return waitFor(t, ns, name, "Ready", func(tok *cfv1.CloudflareToken) bool {
		return meta.IsStatusConditionTrue(tok.Status.Conditions, cfv1.ConditionReady) && tok.Status.TokenID != ""
	})
}

// waitFor polls the CloudflareToken until ok holds.
func waitFor(t *testing.T, ns, name, what string, ok func(*cfv1.CloudflareToken) bool) *cfv1.CloudflareToken {
	t.Helper()
	tok := &cfv1.CloudflareToken{}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, tok)
		if err == nil && ok(tok) {
			return tok
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s not %s after 30s: %v %+v", ns, name, what, err, tok.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// getDNS01 reads the CloudflareToken dns01 of ns, the one most tests make.
func getDNS01(t *testing.T, ns string) *cfv1.CloudflareToken {
	t.Helper()
	tok := &cfv1.CloudflareToken{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "dns01"}, tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

func getSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	sec := &corev1.Secret{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, sec); err != nil {
		t.Fatal(err)
	}
	return sec
}

// decodeJSON decodes the plugin's -o json output.
func decodeJSON(t *testing.T, r result, into any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), into); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r)
	}
}

func keyOf(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }

func sleepTick() { time.Sleep(100 * time.Millisecond) }

func envtestUser(name string) envtest.User { return envtest.User{Name: name} }
