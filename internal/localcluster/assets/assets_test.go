package assets_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster/assets"
)

// put writes the named files into dir with the given mode.
func put(t *testing.T, dir string, mode os.FileMode, names ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDir(t *testing.T) {
	all := []string{"kube-apiserver", "etcd", "kubectl"}
	t.Run("the newest complete bin/k8s/<version>", func(t *testing.T) {
		t.Setenv("KUBEBUILDER_ASSETS", "")
		root := t.TempDir()
		put(t, filepath.Join(root, "bin", "k8s", "1.36.0"), 0o755, all...)
		put(t, filepath.Join(root, "bin", "k8s", "1.37.1"), 0o755, all...)
		put(t, filepath.Join(root, "bin", "k8s", "1.38.0"), 0o755, "kube-apiserver", "etcd") // no kubectl
		got, err := assets.Dir(root)
		if err != nil || got != filepath.Join(root, "bin", "k8s", "1.37.1") {
			t.Fatalf("Dir = %q, %v; want bin/k8s/1.37.1", got, err)
		}
	})
	t.Run("KUBEBUILDER_ASSETS wins, and must hold all three", func(t *testing.T) {
		root, env := t.TempDir(), t.TempDir()
		put(t, filepath.Join(root, "bin", "k8s", "1.37.1"), 0o755, all...)
		t.Setenv("KUBEBUILDER_ASSETS", env)
		if _, err := assets.Dir(root); err == nil || !strings.Contains(err.Error(), "make envtest") {
			t.Fatalf("Dir with an empty $KUBEBUILDER_ASSETS = %v, want an error naming `make envtest`", err)
		}
		put(t, env, 0o755, all...)
		if got, err := assets.Dir(root); err != nil || got != env {
			t.Fatalf("Dir = %q, %v; want $KUBEBUILDER_ASSETS", got, err)
		}
	})
	t.Run("files that cannot run do not count", func(t *testing.T) {
		t.Setenv("KUBEBUILDER_ASSETS", "")
		root := t.TempDir()
		put(t, filepath.Join(root, "bin", "k8s", "1.37.1"), 0o644, all...)
		if _, err := assets.Dir(root); err == nil || !strings.Contains(err.Error(), "make envtest") {
			t.Fatalf("Dir over non-executable files = %v, want an error naming `make envtest`", err)
		}
	})
}
