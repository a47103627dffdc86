package localcluster

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
)

// StartDevCluster builds what the cluster needs and starts it: kube-apiserver, etcd and kubectl (make
// envtest), the node's programs (hack/cluster-binaries.sh), the operator's image (make image, in
// bin/image), then StartCluster with its logs in bin/cluster-run/logs.
func StartDevCluster(ctx context.Context, root string, log io.Writer) (*Cluster, error) {
	bins, err := Build(ctx, root, BuildOptions{Log: log})
	if err != nil {
		return nil, err
	}
	node, err := BuildNodeBinaries(ctx, root, log)
	if err != nil {
		return nil, err
	}
	image := filepath.Join(root, "bin", "image", "cloudflare-token-operator.tar")
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "image", "IMAGE_ARCHIVE="+image)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, log, log
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("make image: %w (output above)", err)
	}
	return StartCluster(ctx, ClusterOptions{
		Root: root, AssetsDir: bins.AssetsDir, Node: node, Images: []string{image},
		LogDir: filepath.Join(root, "bin", "cluster-run", "logs"), Log: log,
	})
}
