// Package e2e walks the operator's lifecycle as a user would, with kubectl, against a real kube-apiserver and
// etcd, the fake Cloudflare API as its own process, and bin/manager as its own process authenticated as its
// ServiceAccount: the CRDs and the RBAC come from config/ (kustomize build config/default, less the
// Deployment), so the shipped RBAC is what these tests prove.
//
//	make test-e2e        # or: go test ./test/e2e/ -v -ginkgo.v
//
// Logs (manager, fake, kube-apiserver, etcd) go to $E2E_ARTIFACTS (default bin/e2e/); the manager's log is
// printed when a spec fails.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster"
)

const (
	operatorNamespace = "cloudflare-token-operator"
	serviceAccount    = "cloudflare-token-operator-controller-manager"
	managerDeployment = "cloudflare-token-operator-controller-manager"
)

// world is what the suite runs on.
type world struct {
	bins      localcluster.Binaries
	cp        *localcluster.ControlPlane
	fake      *localcluster.Fake
	manager   *localcluster.Manager
	admin     localcluster.Kubectl // the person at the keyboard (system:masters)
	operator  localcluster.Kubectl // the manager's identity: the ServiceAccount's token
	artifacts string
}

var w world

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(time.Minute)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	RunSpecs(t, "cloudflare-token-operator e2e")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	root, err := localcluster.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	w.artifacts = os.Getenv("E2E_ARTIFACTS")
	if w.artifacts == "" {
		w.artifacts = filepath.Join(root, "bin", "e2e")
	}
	Expect(os.MkdirAll(w.artifacts, 0o755)).To(Succeed())
	By("building bin/manager, bin/fakecloudflare and bin/kustomize; kube-apiserver, etcd and kubectl from bin/k8s")
	w.bins, err = localcluster.Build(ctx, root, localcluster.BuildOptions{Kustomize: true, Log: GinkgoWriter})
	Expect(err).NotTo(HaveOccurred())

	By("starting kube-apiserver and etcd from " + w.bins.AssetsDir)
	w.cp, err = localcluster.StartControlPlane(localcluster.ControlPlaneOptions{AssetsDir: w.bins.AssetsDir, LogDir: w.artifacts})
	Expect(err).NotTo(HaveOccurred())
	adminKubeconfig := filepath.Join(w.artifacts, "admin.kubeconfig")
	Expect(w.cp.WriteAdminKubeconfig(adminKubeconfig)).To(Succeed())
	w.admin = localcluster.Kubectl{Path: w.bins.Kubectl, Kubeconfig: adminKubeconfig, Dir: root}

	By("starting the fake Cloudflare API (bin/fakecloudflare) on loopback")
	w.fake, err = localcluster.StartFake(ctx, w.bins.Fake, filepath.Join(w.artifacts, "fakecloudflare.log"), 30*time.Second)
	Expect(err).NotTo(HaveOccurred())

	By("applying the CRDs and RBAC of config/default (kustomize build, less the Deployment)")
	stream, err := w.bins.KustomizeBuild(ctx, "config/default")
	Expect(err).NotTo(HaveOccurred())
	manifests, dropped, err := localcluster.FilterManifests(stream, func(o localcluster.ObjectRef) bool {
		return o.Kind != "Deployment" // bin/manager runs as a process instead of the Pod
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(dropped).To(ConsistOf(localcluster.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment",
		Namespace: operatorNamespace, Name: managerDeployment}))
	Expect(string(manifests)).To(ContainSubstring("kind: ClusterRoleBinding"))
	mustKubectlInput(ctx, w.admin, string(manifests), "apply", "-f", "-")
	mustKubectl(ctx, w.admin, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/cloudflaretokens.cloudflare.tokenoperator.dev",
		"crd/clustertokenissuers.cloudflare.tokenoperator.dev",
		"crd/tokenissuers.cloudflare.tokenoperator.dev")

	By("writing a kubeconfig for ServiceAccount " + operatorNamespace + "/" + serviceAccount + " (TokenRequest API)")
	operatorKubeconfig := filepath.Join(w.artifacts, "manager.kubeconfig")
	Expect(w.cp.WriteServiceAccountKubeconfig(ctx, operatorNamespace, serviceAccount, operatorKubeconfig, 2*time.Hour)).To(Succeed())
	w.operator = localcluster.Kubectl{Path: w.bins.Kubectl, Kubeconfig: operatorKubeconfig, Dir: root}

	By("starting bin/manager as that ServiceAccount")
	w.manager, err = localcluster.StartManager(ctx, localcluster.ManagerOptions{
		Bin: w.bins.Manager, Kubeconfig: operatorKubeconfig, CloudflareURL: w.fake.Info.URL,
		LogPath: filepath.Join(w.artifacts, "manager.log"), OperatorNamespace: operatorNamespace,
	})
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(20*time.Minute))

var _ = AfterSuite(func() {
	if w.manager != nil {
		Expect(w.manager.Stop(15 * time.Second)).To(Succeed())
	}
	if w.fake != nil {
		Expect(w.fake.Stop(5 * time.Second)).To(Succeed())
	}
	if w.cp != nil {
		Expect(w.cp.Stop()).To(Succeed())
	}
})

// After every spec: the operator's log when it failed, and the manager must still run (a crash is a failure
// even when the spec's checks passed).
var _ = AfterEach(func() {
	if CurrentSpecReport().Failed() && w.manager != nil {
		fmt.Fprintf(GinkgoWriter, "\n===== manager log (%s) =====\n%s\n===== end of manager log =====\n",
			w.manager.LogPath, w.manager.Log())
	}
	exited, err := w.manager.Exited()
	Expect(exited).To(BeFalse(), "the manager exited: %v\n%s", err, w.manager.Tail(50))
})

func mustKubectl(ctx context.Context, k localcluster.Kubectl, args ...string) string {
	GinkgoHelper()
	out, err := k.Run(ctx, args...)
	Expect(err).NotTo(HaveOccurred(), "kubectl %s", strings.Join(args, " "))
	return out
}

func mustKubectlInput(ctx context.Context, k localcluster.Kubectl, stdin string, args ...string) string {
	GinkgoHelper()
	out, err := k.RunInput(ctx, stdin, args...)
	Expect(err).NotTo(HaveOccurred(), "kubectl %s", strings.Join(args, " "))
	return out
}
