// Package testutil is the one harness the envtest suites share: the real control plane they run on
// (kube-apiserver and etcd with the operator's CRDs), a client of it, the operator's managers in-process, and
// the fixtures every suite writes first (a parent-token Secret, an issuer).
package testutil

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster/assets"
)

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// AssetsDir finds kube-apiserver, etcd and kubectl: $KUBEBUILDER_ASSETS, else the newest bin/k8s/<version>
// that `make envtest` built (the same search the e2e suite and the demo make). It fails
// rather than letting a test skip.
func AssetsDir() (string, error) {
	return assets.Dir(RepoRoot())
}

// NewScheme knows the built-in kinds and the operator's.
func NewScheme() (*k8sruntime.Scheme, error) {
	scheme := k8sruntime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), cfv1.AddToScheme(scheme)); err != nil {
		return nil, fmt.Errorf("building the scheme: %w", err)
	}
	return scheme, nil
}

// NewEnvironment returns an envtest environment with the operator's CRDs, on the project's binaries.
func NewEnvironment() (*envtest.Environment, error) {
	dir, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	return &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: dir,
	}, nil
}

// Env is a running control plane and what a suite needs of it.
type Env struct {
	*envtest.Environment
	Config *rest.Config // an administrator's
	Scheme *k8sruntime.Scheme
	Client client.Client // on Config, with Scheme
}

// StartEnv starts kube-apiserver and etcd with the operator's CRDs installed; configure, when given, shapes the
// environment first (etcd flags, log files, timeouts). On error nothing is left running.
func StartEnv(configure ...func(*envtest.Environment)) (*Env, error) {
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	env, err := NewEnvironment()
	if err != nil {
		return nil, err
	}
	for _, c := range configure {
		c(env)
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("starting kube-apiserver and etcd: %w", err), env.Stop())
	}
	e := &Env{Environment: env, Config: cfg, Scheme: scheme}
	if e.Client, err = e.NewClient(nil); err != nil {
		return nil, errors.Join(err, env.Stop())
	}
	return e, nil
}

// NewClient is another client of the API server, on a copy of Config that shape (when not nil) changes:
// more QPS for a suite that writes hundreds of objects, a warning handler.
func (e *Env) NewClient(shape func(*rest.Config)) (client.Client, error) {
	cfg := rest.CopyConfig(e.Config)
	if shape != nil {
		shape(cfg)
	}
	c, err := client.New(cfg, client.Options{Scheme: e.Scheme})
	if err != nil {
		return nil, fmt.Errorf("a client of the envtest API server: %w", err)
	}
	return c, nil
}

// Stop stops kube-apiserver and etcd; a nil Env (a suite whose start failed) has nothing to stop.
func (e *Env) Stop() error {
	if e == nil {
		return nil
	}
	return e.Environment.Stop()
}

// QPS lets a client make qps requests a second (bursts of burst): the suites create hundreds of objects at once.
func QPS(qps float32, burst int) func(*rest.Config) {
	return func(c *rest.Config) { c.QPS, c.Burst = qps, burst }
}
