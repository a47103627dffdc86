package main

import (
	"strings"
	"testing"
	"time"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

func TestRotateWaitReplacesTheTokenInTheSecret(t *testing.T) {
	ns := newNamespace(t)
	before := readyToken(t, ns, "dns01")

	var out struct {
		Done                                    bool
		RotateRequest, PreviousTokenID, TokenID string
		Secret, SecretTokenID                   string
		PreviousRevokeAt                        *time.Time
	}
	r := plugin(t, adminKubeconfig, "rotate", "-n", ns, "dns01", "--wait", "--timeout", "30s", "-o", "json")
	expectExit(t, r, 0)
	decodeJSON(t, r, &out)

	after := getDNS01(t, ns)
	sec := getSecret(t, ns, "dns01")
	switch {
	case !out.Done || out.PreviousTokenID != before.Status.TokenID || out.TokenID == before.Status.TokenID:
		t.Fatalf("rotation report: %+v", out)
	case after.Status.TokenID != out.TokenID || after.Status.LastRotateRequest != out.RotateRequest:
		t.Fatalf("status %+v does not show the rotation %+v", after.Status, out)
	case after.Annotations[cfv1.AnnotationRotate] != out.RotateRequest:
		t.Fatalf("annotation %q, report %q", after.Annotations[cfv1.AnnotationRotate], out.RotateRequest)
	case out.SecretTokenID != out.TokenID || sec.Annotations[cfv1.AnnotationTokenID] != out.TokenID:
		t.Fatalf("Secret names token %s, report %+v", sec.Annotations[cfv1.AnnotationTokenID], out)
	case string(sec.Data["api-token"]) != fake.TokenValue(out.TokenID):
		t.Fatal("the Secret does not hold the new token's value")
	case out.PreviousRevokeAt == nil || out.PreviousRevokeAt.Before(time.Now()):
		t.Fatalf("the old token's revocation time: %v", out.PreviousRevokeAt)
	}

	// The table form says the same in words, and a second rotation rotates again.
	r = plugin(t, adminKubeconfig, "rotate", "-n", ns, "dns01", "--wait", "--timeout", "30s")
	expectExit(t, r, 0)
	expectContains(t, r, "Rotated "+ns+"/dns01", "token "+out.TokenID+" replaced by", "Token "+out.TokenID+" is revoked at")
	if id := getDNS01(t, ns).Status.TokenID; id == out.TokenID || !strings.Contains(r.stdout, id) {
		t.Fatalf("second rotation: status names %s\n%s", id, r)
	}
}

func TestRotateWithoutWaitOnlyAsks(t *testing.T) {
	ns := newNamespace(t)
	before := readyToken(t, ns, "dns01")
	r := plugin(t, adminKubeconfig, "rotate", "-n", ns, "dns01")
	expectExit(t, r, 0)
	expectContains(t, r, "Rotation of "+ns+"/dns01 requested", cfv1.AnnotationRotate+"=", before.Status.TokenID)
	v := getDNS01(t, ns).Annotations[cfv1.AnnotationRotate]
	if v == "" || !strings.Contains(r.stdout, v) {
		t.Fatalf("annotation %q not the one printed:\n%s", v, r)
	}
	// The operator handles it without anyone waiting.
	waitFor(t, ns, "dns01", "rotated", func(tok *cfv1.CloudflareToken) bool {
		return tok.Status.LastRotateRequest == v && tok.Status.TokenID != before.Status.TokenID
	})
}

// Cloudflare failing every call: the operator cannot mint, the Secret keeps the old token, and --wait gives up
// with exit 1 and the operator's own account of why.
func TestRotateWaitTimesOutWithExitOne(t *testing.T) {
	ns := newNamespace(t)
	before := readyToken(t, ns, "dns01")
	fake.SetServerErrorRatio(1)
	t.Cleanup(func() { fake.SetServerErrorRatio(0) })

	start := time.Now()
	r := plugin(t, adminKubeconfig, "rotate", "-n", ns, "dns01", "--wait", "--timeout", "4s")
	took := time.Since(start)
	expectExit(t, r, 1)
	expectContains(t, r, "not done: timed out after 4s", "status.lastRotateRequest is", "failed attempt")
	if took < 4*time.Second {
		t.Fatalf("gave up after %s, before --timeout", took)
	}
	if got := getDNS01(t, ns).Status.TokenID; got != before.Status.TokenID {
		t.Fatalf("the token changed to %s although Cloudflare failed", got)
	}

	var out struct {
		Done    bool
		Problem string
	}
	r = plugin(t, adminKubeconfig, "rotate", "-n", ns, "dns01", "--wait", "--timeout", "2s", "-o", "json")
	expectExit(t, r, 1)
	decodeJSON(t, r, &out)
	if out.Done || !strings.Contains(out.Problem, "timed out after 2s") {
		t.Fatalf("json report: %+v", out)
	}
}
