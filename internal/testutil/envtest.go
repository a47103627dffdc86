// Package testutil starts the real control plane the tests run on.
package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// AssetsDir finds kube-apiserver and etcd: $KUBEBUILDER_ASSETS, else the newest bin/k8s/<version> that
// `make envtest` built. It fails rather than letting a test skip.
func AssetsDir() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, checkAssets(dir)
	}
	dirs, _ := filepath.Glob(filepath.Join(RepoRoot(), "bin", "k8s", "*"))
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if checkAssets(dirs[i]) == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("no kube-apiserver/etcd found: run `make envtest` (or set KUBEBUILDER_ASSETS)")
}

func checkAssets(dir string) error {
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return fmt.Errorf("%s missing in %s: run `make envtest`: %w", b, dir, err)
		}
	}
	return nil
}

// NewEnvironment returns an envtest environment with the operator's CRDs, on the project's binaries.
func NewEnvironment() (*envtest.Environment, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	return &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}, nil
}
