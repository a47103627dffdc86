package main

// The suite drives the built kubectl-cftoken against a real kube-apiserver and etcd (envtest), the
// operator's controllers running in-process (controller.Setup) and the fake Cloudflare API. Every command
// runs as a process with a kubeconfig on disk, as a person would run it.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller"
	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

const (
	operatorNamespace = "cloudflare-token-operator"
	issuerName        = "cloudflare"
	// driftInterval is long: a token revoked behind the operator's back stays revoked while check looks.
	driftInterval = time.Hour
)

var (
	testEnv   *envtest.Environment
	k8s       client.Client
	fake      *cloudflaretest.Server
	pluginBin string
	// adminKubeconfig is a system:masters user's kubeconfig file.
	adminKubeconfig string
	workDir         string
)

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubectl-cftoken suite:", err)
		code = 1
	}
	os.Exit(code)
}

func runSuite(m *testing.M) (int, error) {
	ctrl.SetLogger(logr.Discard())
	var err error
	if workDir, err = os.MkdirTemp("", "kubectl-cftoken-test-"); err != nil {
		return 1, err
	}
	defer os.RemoveAll(workDir)
	pluginBin = filepath.Join(workDir, "kubectl-cftoken")
	if out, err := exec.Command("go", "build", "-o", pluginBin, ".").CombinedOutput(); err != nil {
		return 1, fmt.Errorf("go build: %w\n%s", err, out)
	}

	if testEnv, err = testutil.NewEnvironment(); err != nil {
		return 1, err
	}
	cfg, err := testEnv.Start()
	if err != nil {
		return 1, fmt.Errorf("starting envtest: %w", err)
	}
	defer func() { _ = testEnv.Stop() }()
	scheme := runtime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), cfv1.AddToScheme(scheme)); err != nil {
		return 1, err
	}
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return 1, err
	}
	if adminKubeconfig, err = writeKubeconfig("admin", envtest.User{Name: "admin", Groups: []string{"system:masters"}}); err != nil {
		return 1, err
	}

	fake = cloudflaretest.NewServer()
	defer fake.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := seedIssuer(ctx); err != nil {
		return 1, err
	}
	stop, err := startManager(ctx, cfg, scheme)
	if err != nil {
		return 1, err
	}
	defer stop()
	return m.Run(), nil
}

// writeKubeconfig writes a kubeconfig file of an envtest user (a client certificate) and returns its path.
func writeKubeconfig(file string, u envtest.User) (string, error) {
	au, err := testEnv.AddUser(u, nil)
	if err != nil {
		return "", fmt.Errorf("adding user %s: %w", u.Name, err)
	}
	b, err := au.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(workDir, file+".kubeconfig")
	return path, os.WriteFile(path, b, 0o600)
}

func seedIssuer(ctx context.Context) error {
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: objMeta("", operatorNamespace)}); err != nil {
		return err
	}
	if err := k8s.Create(ctx, &corev1.Secret{ObjectMeta: objMeta(operatorNamespace, "cf-parent"),
		Data: map[string][]byte{"api-token": []byte(fake.UserParentToken())}}); err != nil {
		return err
	}
	return k8s.Create(ctx, &cfv1.ClusterTokenIssuer{ObjectMeta: objMeta("", issuerName),
		Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
			APITokenSecretRef: &cfv1.SecretKeyRef{Name: "cf-parent"}, AccountID: fake.AccountID(),
			AllowedZones: []string{"*"}, AllowedPermissions: []string{"*"},
		}}})
}

// startManager runs the operator's controllers as cmd/main.go wires them.
func startManager(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme) (func(), error) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme, Cache: controller.CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, err
	}
	if err := controller.Setup(mgr, controller.Config{CloudflareAPIURL: fake.URL(), ClusterName: "plugin-suite",
		OperatorNamespace: operatorNamespace, DriftInterval: driftInterval}); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}, nil
}

// result is one run of the plugin.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// plugin runs the built binary with kubeconfig and args. Every run is searched for every token value the
// fake ever minted: no command may print one.
func plugin(t *testing.T, kubeconfig string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pluginBin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Env = []string{"HOME=" + workDir, "PATH=" + os.Getenv("PATH")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running kubectl-cftoken %v: %v", args, err)
	}
	t.Logf("kubectl cftoken %s\n%s", strings.Join(args, " "), r)
	for _, v := range fake.AllTokenValues() {
		if strings.Contains(r.stdout+r.stderr, v) {
			t.Fatalf("kubectl-cftoken %v printed a token value", args)
		}
	}
	return r
}

// expectExit fails unless r ended with code.
func expectExit(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
}

func expectContains(t *testing.T, r result, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.stdout+r.stderr, p) {
			t.Fatalf("want %q in the output, got %s", p, r)
		}
	}
}
