package localcluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Versions of what the one-node cluster runs beside kube-apiserver and etcd (hack/cluster-binaries.sh
// builds them into bin/cluster under these versioned names).
const (
	KubernetesVersion = "1.37.1" // kubelet, kube-proxy, kube-controller-manager, kube-scheduler
	ContainerdVersion = "2.4.2"
	RuncVersion       = "1.5.3"
	// CNIDir holds Debian's containernetworking-plugins (bridge, host-local, portmap, loopback).
	CNIDir = "/usr/lib/cni"
)

// NodeBinaries are the programs of a node and of the control plane's controllers.
type NodeBinaries struct {
	Kubelet, KubeProxy, ControllerManager, Scheduler string
	Containerd, Ctr, Shim, Runc                      string
	CNIDir                                           string
}

// BuildNodeBinaries runs hack/cluster-binaries.sh, which apt-get installs the Debian packages the node
// needs (when root) and builds the programs into root/bin/cluster once (minutes each; seconds after).
func BuildNodeBinaries(ctx context.Context, root string, log io.Writer) (NodeBinaries, error) {
	dir := filepath.Join(root, "bin", "cluster")
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "cluster-binaries.sh"), dir)
	cmd.Env = append(os.Environ(), "K8S_VERSION="+KubernetesVersion, "CONTAINERD_VERSION="+ContainerdVersion,
		"RUNC_VERSION="+RuncVersion)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, log, log
	if err := cmd.Run(); err != nil {
		return NodeBinaries{}, fmt.Errorf("hack/cluster-binaries.sh: %w (output above)", err)
	}
	k8s := func(name string) string { return filepath.Join(dir, name+"-v"+KubernetesVersion) }
	ctrd := func(name string) string { return filepath.Join(dir, name+"-v"+ContainerdVersion) }
	b := NodeBinaries{
		Kubelet: k8s("kubelet"), KubeProxy: k8s("kube-proxy"),
		ControllerManager: k8s("kube-controller-manager"), Scheduler: k8s("kube-scheduler"),
		Containerd: ctrd("containerd"), Ctr: ctrd("ctr"), Shim: ctrd("containerd-shim-runc-v2"),
		Runc:   filepath.Join(dir, "runc-v"+RuncVersion),
		CNIDir: CNIDir,
	}
	for _, p := range []string{b.Kubelet, b.KubeProxy, b.ControllerManager, b.Scheduler, b.Containerd, b.Ctr, b.Shim, b.Runc,
		filepath.Join(CNIDir, "bridge"), filepath.Join(CNIDir, "host-local"), filepath.Join(CNIDir, "loopback")} {
		if !isExecutable(p) {
			return b, fmt.Errorf("%s is missing after hack/cluster-binaries.sh", p)
		}
	}
	return b, nil
}
