// Package cluster runs the shipped operator in a real Pod: a one-node cluster built from source on this
// machine (internal/localcluster's Cluster: kubelet, containerd + runc, CNI bridge, kube-proxy, the
// controllers), the image from `make image` imported into containerd, installed with `helm install
// dist/chart` and with `kubectl apply -f dist/install.yaml` under the restricted Pod Security Standard, and
// the fake Cloudflare API on the host, which the Pod reaches over the bridge.
//
//	make test-cluster   # needs root; builds what it needs (minutes, once); logs in bin/cluster-test/
//
// The specs run in order, on one cluster; the last one tears the cluster down and checks that it left no
// process, mount, network namespace, link or iptables rule behind.
package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster"
)

const (
	namespace   = "cloudflare-token-operator"
	release     = "cto"
	helmManager = "cto-cloudflare-token-operator-controller-manager" // the chart's Deployment
	yamlManager = "cloudflare-token-operator-controller-manager"     // install.yaml's Deployment
	podSelector = "control-plane=controller-manager"
)

// world is what the suite runs on.
type world struct {
	root      string
	bins      localcluster.Binaries
	cluster   *localcluster.Cluster
	before    localcluster.HostState // the host before the cluster started
	fake      *localcluster.Fake
	admin     localcluster.Kubectl
	helm      string
	artifacts string
	unlock    func() // the machine's cluster lock, held from before the snapshot to after the last check
}

var w world

func TestCluster(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(3 * time.Minute) // a loaded 2-core machine starts Pods slowly
	SetDefaultEventuallyPollingInterval(time.Second)
	RunSpecs(t, "cloudflare-token-operator on a one-node cluster")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	var err error
	w.root, err = localcluster.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	w.artifacts = filepath.Join(w.root, "bin", "cluster-test")
	Expect(os.RemoveAll(w.artifacts)).To(Succeed())
	Expect(os.MkdirAll(w.artifacts, 0o755)).To(Succeed())
	w.helm = filepath.Join(w.root, "bin", "helm")
	Expect(w.helm).To(BeAnExistingFile(), "bin/helm: run make helm (make test-cluster does)")

	By("building bin/manager and bin/fakecloudflare; the node's programs; the image (make image)")
	w.bins, err = localcluster.Build(ctx, w.root, localcluster.BuildOptions{Log: GinkgoWriter})
	Expect(err).NotTo(HaveOccurred())
	node, err := localcluster.BuildNodeBinaries(ctx, w.root, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	image := filepath.Join(w.root, "bin", "image", "cloudflare-token-operator.tar")
	Expect(image).To(BeAnExistingFile(), "make image (make test-cluster does)")

	By("taking the machine's cluster lock (another run's cluster finishes first)")
	w.unlock, err = localcluster.LockHost(ctx, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	By("tearing down what a killed earlier run left, then recording the host's state")
	Expect(localcluster.CleanupStaleCluster(ctx, GinkgoWriter)).To(Succeed())
	w.before, err = localcluster.SnapshotHost()
	Expect(err).NotTo(HaveOccurred())

	By("starting the one-node cluster")
	w.cluster, err = localcluster.StartCluster(ctx, localcluster.ClusterOptions{
		Root: w.root, AssetsDir: w.bins.AssetsDir, Node: node, Images: []string{image},
		LogDir: filepath.Join(w.artifacts, "logs"), Log: GinkgoWriter,
	})
	Expect(err).NotTo(HaveOccurred())
	w.admin = w.cluster.Kubectl

	By("starting the fake Cloudflare API on " + localcluster.HostIP + ", where Pods reach the host")
	w.fake, err = localcluster.StartFake(ctx, w.bins.Fake, filepath.Join(w.artifacts, "fakecloudflare.log"),
		30*time.Second, "-addr", localcluster.HostIP+":0")
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(60*time.Minute))

// AfterSuite stops what a failed spec left running (the last spec stops it all when the suite passes).
var _ = AfterSuite(func() {
	if w.fake != nil {
		Expect(w.fake.Stop(5 * time.Second)).To(Succeed())
	}
	if w.cluster != nil {
		Expect(w.cluster.Stop()).To(Succeed())
	}
	if w.unlock != nil {
		w.unlock()
	}
})

// After a failed spec: the Pods, events and manager logs, for the report.
var _ = ReportAfterEach(func(report SpecReport) {
	if !report.Failed() || w.cluster == nil || w.cluster.Dir() == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, args := range [][]string{
		{"get", "pods", "-A", "-o", "wide"},
		{"get", "events", "-A", "--sort-by=.lastTimestamp"},
		{"logs", "-n", namespace, "-l", podSelector, "--tail=100", "--prefix"},
	} {
		out, err := w.admin.Run(ctx, args...)
		fmt.Fprintf(GinkgoWriter, "\n===== kubectl %s =====\n%s%v\n", strings.Join(args, " "), out, errOrEmpty(err))
	}
})

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func mustKubectl(ctx context.Context, args ...string) string {
	GinkgoHelper()
	out, err := w.admin.Run(ctx, args...)
	Expect(err).NotTo(HaveOccurred(), "kubectl %s", strings.Join(args, " "))
	return out
}

func mustKubectlInput(ctx context.Context, stdin string, args ...string) string {
	GinkgoHelper()
	out, err := w.admin.RunInput(ctx, stdin, args...)
	Expect(err).NotTo(HaveOccurred(), "kubectl %s", strings.Join(args, " "))
	return out
}

// mustHelm runs bin/helm against the cluster.
func mustHelm(ctx context.Context, args ...string) {
	GinkgoHelper()
	cmd := exec.CommandContext(ctx, w.helm, append([]string{"--kubeconfig", w.cluster.Kubeconfig}, args...)...)
	cmd.Dir = w.root
	out, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "helm %s\n%s", strings.Join(args, " "), out)
}
