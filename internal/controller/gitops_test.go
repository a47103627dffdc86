package controller_test

import (
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// GitOps tools judge the operator's objects from their conditions: Flux and kubectl's kstatus
// (cli-utils' status.Compute) and Argo CD (config/argocd's Lua, run here by gopher-lua, the interpreter
// Argo CD embeds). Both read real objects, as the operator leaves them in the API server.
var _ = Describe("GitOps health", func() {
	get := func(key client.ObjectKey, kind string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schema.GroupVersionKind{Group: cfv1.GroupVersion.Group, Version: cfv1.GroupVersion.Version, Kind: kind})
		Expect(k8sClient.Get(suiteCtx, key, u)).To(Succeed())
		return u
	}
	expectHealth := func(key client.ObjectKey, kind string, want status.Status, argo string) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			u := get(key, kind)
			res, err := status.Compute(u)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.Status).To(Equal(want), "kstatus: %s", res.Message)
			g.Expect(argoHealth(u)).To(Equal(argo))
		}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	}

	It("is Current and Healthy when Ready, InProgress and Progressing while Cloudflare fails, Failed and Degraded when Stalled", func() {
		ns := newNamespace()
		expectHealth(client.ObjectKey{Name: issuerName}, cfv1.KindClusterTokenIssuer, status.CurrentStatus, "Healthy")

		ok := newToken(ns, "ok")
		Expect(k8sClient.Create(suiteCtx, ok)).To(Succeed())
		waitReady(client.ObjectKeyFromObject(ok))
		expectHealth(client.ObjectKeyFromObject(ok), "CloudflareToken", status.CurrentStatus, "Healthy")

		unknown := newToken(ns, "unknown-zone", func(t *cfv1.CloudflareToken) { t.Spec.Zones = []string{"no-such-zone.example"} })
		Expect(k8sClient.Create(suiteCtx, unknown)).To(Succeed())
		expectHealth(client.ObjectKeyFromObject(unknown), "CloudflareToken", status.FailedStatus, "Degraded")

		fake.SetServerErrorRatio(1)
		DeferCleanup(func() { fake.SetServerErrorRatio(0) })
		failing := newToken(ns, "cloudflare-down")
		Expect(k8sClient.Create(suiteCtx, failing)).To(Succeed())
		expectHealth(client.ObjectKeyFromObject(failing), "CloudflareToken", status.InProgressStatus, "Progressing")
		fake.SetServerErrorRatio(0)
		waitReady(client.ObjectKeyFromObject(failing))
		expectHealth(client.ObjectKeyFromObject(failing), "CloudflareToken", status.CurrentStatus, "Healthy")
	})

	It("rotates a token through Argo CD's rotate action", func() {
		ns := newNamespace()
		tok := newToken(ns, "rotated")
		Expect(k8sClient.Create(suiteCtx, tok)).To(Succeed())
		before := waitReady(client.ObjectKeyFromObject(tok))

		Expect(argoActions(get(client.ObjectKeyFromObject(tok), "CloudflareToken"))).To(HaveKey("rotate"))
		u := runArgoAction(get(client.ObjectKeyFromObject(tok), "CloudflareToken"))
		value := u.GetAnnotations()[cfv1.AnnotationRotate]
		Expect(value).NotTo(BeEmpty())
		Expect(k8sClient.Update(suiteCtx, u)).To(Succeed())

		Eventually(func(g Gomega) {
			after := &cfv1.CloudflareToken{}
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(tok), after)).To(Succeed())
			g.Expect(after.Status.LastRotateRequest).To(Equal(value))
			g.Expect(after.Status.TokenID).NotTo(Equal(before.Status.TokenID))
		}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
		expectHealth(client.ObjectKeyFromObject(tok), "CloudflareToken", status.CurrentStatus, "Healthy")
	})
})

// argoLua is a Lua state with the libraries Argo CD opens for resource customizations (base, table,
// string, math and a safe os with date, time and clock), obj set to u.
func argoLua(u *unstructured.Unstructured) *lua.LState {
	GinkgoHelper()
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	L.Push(L.NewFunction(lua.OpenOs))
	L.Push(lua.LString(lua.OsLibName))
	L.Call(1, 1)
	full := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	safe := L.NewTable()
	for _, f := range []string{"date", "time", "clock"} {
		safe.RawSetString(f, full.RawGetString(f))
	}
	L.SetGlobal(lua.OsLibName, safe)
	L.SetGlobal("obj", toLua(L, u.Object))
	return L
}

func runLua(u *unstructured.Unstructured, file string) lua.LValue {
	GinkgoHelper()
	src, err := os.ReadFile(filepath.Join("..", "..", "config", "argocd", file))
	Expect(err).NotTo(HaveOccurred())
	L := argoLua(u)
	DeferCleanup(L.Close)
	Expect(L.DoString(string(src))).To(Succeed(), file)
	return L.Get(-1)
}

// argoHealth runs config/argocd/health.lua on u and returns its status.
func argoHealth(u *unstructured.Unstructured) string {
	GinkgoHelper()
	hs, ok := runLua(u, "health.lua").(*lua.LTable)
	Expect(ok).To(BeTrue(), "health.lua returns a table")
	return hs.RawGetString("status").String()
}

// argoActions runs config/argocd/discovery.lua on u and returns the enabled actions.
func argoActions(u *unstructured.Unstructured) map[string]bool {
	GinkgoHelper()
	t, ok := runLua(u, "discovery.lua").(*lua.LTable)
	Expect(ok).To(BeTrue(), "discovery.lua returns a table")
	out := map[string]bool{}
	t.ForEach(func(k, v lua.LValue) {
		if def, ok := v.(*lua.LTable); ok && def.RawGetString("disabled") != lua.LTrue {
			out[k.String()] = true
		}
	})
	return out
}

// runArgoAction runs config/argocd/rotate.lua on u and returns the object it hands back, as Argo CD would
// before it updates it.
func runArgoAction(u *unstructured.Unstructured) *unstructured.Unstructured {
	GinkgoHelper()
	out, ok := fromLua(runLua(u, "rotate.lua")).(map[string]any)
	Expect(ok).To(BeTrue(), "rotate.lua returns an object")
	return &unstructured.Unstructured{Object: runtime.DeepCopyJSON(out)}
}

// toLua converts a JSON value to Lua, as Argo CD does (objects and arrays become tables).
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, x := range v {
			t.RawSetString(k, toLua(L, x))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, x := range v {
			t.Append(toLua(L, x))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	}
	return lua.LNil
}

// fromLua converts back: a table with keys 1..n is an array, other tables objects; whole numbers are int64.
func fromLua(v lua.LValue) any {
	switch v := v.(type) {
	case *lua.LTable:
		if n := v.Len(); n > 0 {
			arr := make([]any, 0, n)
			for i := 1; i <= n; i++ {
				arr = append(arr, fromLua(v.RawGetInt(i)))
			}
			return arr
		}
		obj := map[string]any{}
		v.ForEach(func(k, x lua.LValue) { obj[k.String()] = fromLua(x) })
		return obj
	case lua.LString:
		return string(v)
	case lua.LBool:
		return bool(v)
	case lua.LNumber:
		if f := float64(v); f == float64(int64(f)) {
			return int64(f)
		}
		return float64(v)
	}
	return nil
}
