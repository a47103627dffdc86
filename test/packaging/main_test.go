// Package packaging tests what users install: dist/install.yaml, the Helm chart in dist/chart and
// config/default are accepted by a real kube-apiserver (server-side dry run), their Deployment passes the
// restricted Pod Security Standard, and the Dockerfile's build command produces a static binary for a
// distroless nonroot image.
//
// It needs kube-apiserver, etcd and kubectl (`make envtest`) and bin/helm (`make helm`); without them it
// fails, it never skips. `make test-packaging` runs it alone.
package packaging

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

var (
	// k8s is a client of the test's kube-apiserver; warnings it receives go to the warningSink in the
	// request's context (withWarnings).
	k8s client.Client
	// kubeconfig is a kubeconfig file for that API server (for kubectl).
	kubeconfig string
	// assetsDir holds kube-apiserver, etcd and kubectl.
	assetsDir string
	// workDir is a temporary directory for the whole run (removed at the end).
	workDir string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	assetsDir, err = testutil.AssetsDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "packaging:", err)
		return 1
	}
	// No CRDs: the manifests under test install them (dry run).
	env := &envtest.Environment{BinaryAssetsDirectory: assetsDir}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "packaging: starting kube-apiserver and etcd:", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "packaging: stopping the control plane:", err)
		}
	}()
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = nil
	cfg.WarningHandlerWithContext = warningRecorder{}
	if k8s, err = client.New(cfg, client.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, "packaging: client:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "packaging-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "packaging:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	workDir = dir
	user, err := env.AddUser(envtest.User{Name: "packaging-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "packaging: envtest user:", err)
		return 1
	}
	kc, err := user.KubeConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "packaging: kubeconfig:", err)
		return 1
	}
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "packaging:", err)
		return 1
	}
	return m.Run()
}

// warningSink collects the API server's warnings for the requests made with its context.
type warningSink struct {
	mu   sync.Mutex
	list []string
}

func (s *warningSink) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.list...)
}

type warningKey struct{}

// withWarnings returns a context whose requests' warnings are collected in the returned sink.
func withWarnings(ctx context.Context) (context.Context, *warningSink) {
	s := &warningSink{}
	return context.WithValue(ctx, warningKey{}, s), s
}

// warningRecorder hands each warning to the sink of the request's context (if any).
type warningRecorder struct{}

func (warningRecorder) HandleWarningHeaderWithContext(ctx context.Context, code int, _ string, text string) {
	if code != 299 {
		return
	}
	if s, ok := ctx.Value(warningKey{}).(*warningSink); ok {
		s.mu.Lock()
		s.list = append(s.list, text)
		s.mu.Unlock()
	}
}
