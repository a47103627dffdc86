// Command cluster runs a one-node Kubernetes cluster on this machine (internal/localcluster's Cluster:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd + runc, kubelet, kube-proxy, a
// CNI bridge) with the operator's image (make image) imported, until Ctrl-C; then it tears everything
// down. It needs root. The admin kubeconfig is written to bin/cluster-run/kubeconfig, logs to
// bin/cluster-run/logs.
//
//	make cluster                 # or: go run ./hack/cluster
//	go run ./hack/cluster -cleanup  # tear down what a killed run left
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster"
)

func main() {
	cleanup := flag.Bool("cleanup", false, "only tear down what an earlier, killed run left behind")
	exit := flag.Bool("exit", false, "stop as soon as the node is Ready (a smoke test)")
	flag.Parse()
	if err := run(*cleanup, *exit); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run(cleanup, exit bool) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if cleanup {
		return localcluster.CleanupStaleCluster(ctx, os.Stdout)
	}
	root, err := localcluster.RepoRoot()
	if err != nil {
		return err
	}
	c, err := localcluster.StartDevCluster(ctx, root, os.Stdout)
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(root, "bin", "cluster-run", "kubeconfig")
	if err := copyFile(c.Kubeconfig, kubeconfig); err != nil {
		return errorsJoin(err, c.Stop())
	}
	fmt.Printf("cluster: ready; kubectl --kubeconfig %s get nodes (Ctrl-C stops it)\n", kubeconfig)
	if !exit {
		<-ctx.Done()
	}
	fmt.Println("cluster: tearing down")
	return c.Stop()
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}

func errorsJoin(a, b error) error {
	if b == nil {
		return a
	}
	return fmt.Errorf("%w; stopping: %v", a, b)
}
