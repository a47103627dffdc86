package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster/assets"
)

// ModulePath is the operator's Go module, by which RepoRoot recognises the repository.
const ModulePath = "github.com/tokenoperator/cloudflare-token-operator"

// RepoRoot finds the repository: upwards from the working directory to the go.mod of ModulePath, else the
// directory this file was compiled from.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err == nil {
		for {
			if isRepoRoot(dir) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "..", "..")
		if isRepoRoot(dir) {
			return filepath.Clean(dir), nil
		}
	}
	return "", errors.New("cannot find the repository (a go.mod of " + ModulePath + ") above the working directory")
}

func isRepoRoot(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "module "+ModulePath {
			return true
		}
	}
	return false
}

// Binaries are the programs the demo and the e2e suite run.
type Binaries struct {
	Root      string // the repository
	Manager   string // bin/manager
	Fake      string // bin/fakecloudflare
	AssetsDir string // kube-apiserver, etcd, kubectl (bin/k8s/<version>, or $KUBEBUILDER_ASSETS)
	Kubectl   string
	Kustomize string // bin/kustomize, only when asked for
	Plugin    string // bin/kubectl-cftoken, only when asked for
}

// BuildOptions say what Build provides beside the manager, the fake and the control-plane binaries.
type BuildOptions struct {
	Kustomize bool // also bin/kustomize (make kustomize)
	Plugin    bool // also bin/kubectl-cftoken, the kubectl plugin
	// NoControlPlane: no kube-apiserver or etcd (a kind cluster serves); kubectl is $KUBECTL, else the one on
	// $PATH, else bin/k8s's.
	NoControlPlane bool
	Log            io.Writer // where the go and make commands write; nil discards
}

// Build builds bin/manager and bin/fakecloudflare (and bin/kubectl-cftoken if asked) from the working tree
// (go build is incremental: seconds when nothing changed) and makes sure kube-apiserver, etcd and kubectl
// exist, running `make envtest` (which builds them from the Go module proxy, minutes, once) when they do not.
// It never gives up quietly: what it cannot provide is an error.
func Build(ctx context.Context, root string, opts BuildOptions) (Binaries, error) {
	out := opts.Log
	if out == nil {
		out = io.Discard
	}
	b := Binaries{
		Root:    root,
		Manager: filepath.Join(root, "bin", "manager"),
		Fake:    filepath.Join(root, "bin", "fakecloudflare"),
	}
	builds := []struct{ out, pkg string }{{b.Manager, "./cmd"}, {b.Fake, "./hack/fakecloudflare"}}
	if opts.Plugin {
		b.Plugin = filepath.Join(root, "bin", "kubectl-cftoken")
		builds = append(builds, struct{ out, pkg string }{b.Plugin, "./cmd/kubectl-cftoken"})
	}
	for _, t := range builds {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", t.out, t.pkg)
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, out, out
		fmt.Fprintf(out, "go build -o %s %s\n", rel(root, t.out), t.pkg)
		if err := cmd.Run(); err != nil {
			return b, fmt.Errorf("go build -o %s %s: %w (output above)", rel(root, t.out), t.pkg, err)
		}
	}

	if opts.NoControlPlane {
		b.Kubectl = os.Getenv("KUBECTL")
		if b.Kubectl == "" {
			b.Kubectl, _ = exec.LookPath("kubectl")
		}
		if b.Kubectl == "" {
			dir, err := AssetsDir(root)
			if err != nil {
				return b, errors.New("no kubectl: set $KUBECTL, put kubectl on $PATH, or run `make envtest`")
			}
			b.Kubectl = filepath.Join(dir, "kubectl")
		}
		err := b.buildKustomize(ctx, opts, out)
		return b, err
	}

	assetsDir, err := AssetsDir(root)
	if err != nil {
		if os.Getenv("KUBEBUILDER_ASSETS") != "" {
			return b, err
		}
		fmt.Fprintln(out, "make envtest (kube-apiserver, etcd and kubectl are missing; building them takes minutes, once)")
		if err := makeTarget(ctx, root, out, "envtest"); err != nil {
			return b, err
		}
		if assetsDir, err = AssetsDir(root); err != nil {
			return b, err
		}
	}
	b.AssetsDir = assetsDir
	b.Kubectl = filepath.Join(assetsDir, "kubectl")

	err = b.buildKustomize(ctx, opts, out)
	return b, err
}

func (b *Binaries) buildKustomize(ctx context.Context, opts BuildOptions, out io.Writer) error {
	if !opts.Kustomize {
		return nil
	}
	if err := makeTarget(ctx, b.Root, out, "kustomize"); err != nil {
		return err
	}
	b.Kustomize = filepath.Join(b.Root, "bin", "kustomize")
	return nil
}

// AssetsDir is where kube-apiserver, etcd and kubectl are: $KUBEBUILDER_ASSETS, else the newest
// bin/k8s/<version> under root that holds all three.
func AssetsDir(root string) (string, error) { return assets.Dir(root) }

func makeTarget(ctx context.Context, root string, out io.Writer, target string) error {
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", target)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("make %s: %w (output above)", target, err)
	}
	return nil
}

func isExecutable(path string) bool { return assets.IsExecutable(path) }

// rel shortens path for messages: relative to root when inside it.
func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
