// Package assets finds the control-plane binaries (kube-apiserver, etcd, kubectl) that `make envtest` builds,
// for every suite and tool that runs them: the envtest suites (internal/testutil), the e2e suite and the
// demo (localcluster). It uses nothing but the standard library, so that any of them can import it.
package assets

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Dir is where kube-apiserver, etcd and kubectl are: $KUBEBUILDER_ASSETS, else the newest
// bin/k8s/<version> under root that holds all three. The error says to run `make envtest`: a suite that
// needs them fails, it never skips.
func Dir(root string) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, check(dir)
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "bin", "k8s", "*"))
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if check(dirs[i]) == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("no kube-apiserver, etcd and kubectl in %s: run `make envtest`", filepath.Join(root, "bin", "k8s"))
}

func check(dir string) error {
	for _, name := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if !IsExecutable(filepath.Join(dir, name)) {
			return fmt.Errorf("%s missing in %s: run `make envtest`", name, dir)
		}
	}
	return nil
}

// IsExecutable says whether path is a file someone may execute.
func IsExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
