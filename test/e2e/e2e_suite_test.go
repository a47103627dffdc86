// Package e2e walks the operator's lifecycle as a user would, with kubectl, against a real API server with the
// CRDs and the RBAC of config/ (kustomize build config/default), the manager authenticated as its
// ServiceAccount, so that the shipped RBAC is what these tests prove, and the fake Cloudflare API as its own
// process.
//
// Two ways to run it:
//
//	make test-e2e       # a local kube-apiserver + etcd (bin/k8s), bin/manager as a process with a
//	                    # TokenRequest token of its ServiceAccount; everything on loopback, no containers
//	make test-e2e-kind  # kubebuilder's way: a kind cluster, the image built and loaded, config/default
//	                    # deployed as is (E2E_KIND_CLUSTER set); the fake listens on the kind network's gateway
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

// operator is the running manager, a process (local) or a Deployment (kind).
type operator interface {
	// Log is its whole log so far.
	Log() string
	// Alive is nil while it runs without having crashed.
	Alive(ctx context.Context) error
	// MetricsURL is where this machine reaches its metrics endpoint (HTTPS, authn/authz by the API server).
	MetricsURL(ctx context.Context) (string, error)
	Stop() error
}

// world is what the suite runs on.
type world struct {
	bins      localcluster.Binaries
	cp        *localcluster.ControlPlane // local mode only
	fake      *localcluster.Fake
	op        operator
	admin     localcluster.Kubectl // the person at the keyboard (cluster admin)
	operator  localcluster.Kubectl // the manager's identity: a token of its ServiceAccount
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
	if cluster := os.Getenv("E2E_KIND_CLUSTER"); cluster != "" {
		setUpKind(ctx, root, cluster)
	} else {
		setUpLocal(ctx, root)
	}
}, NodeTimeout(20*time.Minute))

// setUpLocal: kube-apiserver + etcd, the fake on loopback, config/default less the Deployment, and
// bin/manager as a process with a kubeconfig holding a TokenRequest token of its ServiceAccount.
func setUpLocal(ctx context.Context, root string) {
	var err error
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
	applyInstall(ctx, string(manifests))

	By("writing a kubeconfig for ServiceAccount " + operatorNamespace + "/" + serviceAccount + " (TokenRequest API)")
	operatorKubeconfig := filepath.Join(w.artifacts, "manager.kubeconfig")
	Expect(w.cp.WriteServiceAccountKubeconfig(ctx, operatorNamespace, serviceAccount, operatorKubeconfig, 2*time.Hour)).To(Succeed())
	w.operator = localcluster.Kubectl{Path: w.bins.Kubectl, Kubeconfig: operatorKubeconfig, Dir: root}

	By("starting bin/manager as that ServiceAccount, its metrics served over HTTPS as in the Deployment")
	metricsAddr, err := localcluster.FreeLoopbackAddr()
	Expect(err).NotTo(HaveOccurred())
	m, err := localcluster.StartManager(ctx, localcluster.ManagerOptions{
		Bin: w.bins.Manager, Kubeconfig: operatorKubeconfig, CloudflareURL: w.fake.Info.URL,
		LogPath: filepath.Join(w.artifacts, "manager.log"), OperatorNamespace: operatorNamespace,
		MetricsAddr: metricsAddr,
	})
	Expect(err).NotTo(HaveOccurred())
	w.op = processOperator{m}
}

// applyInstall applies the install manifests as an administrator would and waits for the CRDs.
func applyInstall(ctx context.Context, manifests string) {
	GinkgoHelper()
	Expect(manifests).To(ContainSubstring("kind: ClusterRoleBinding"))
	mustKubectlInput(ctx, w.admin, manifests, "apply", "-f", "-")
	mustKubectl(ctx, w.admin, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/cloudflaretokens.cloudflare.tokenoperator.dev",
		"crd/clustertokenissuers.cloudflare.tokenoperator.dev",
		"crd/tokenissuers.cloudflare.tokenoperator.dev")
}

var _ = AfterSuite(func() {
	if w.op != nil {
		Expect(w.op.Stop()).To(Succeed())
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
var _ = AfterEach(func(ctx SpecContext) {
	if CurrentSpecReport().Failed() && w.op != nil {
		fmt.Fprintf(GinkgoWriter, "\n===== manager log =====\n%s\n===== end of manager log =====\n", w.op.Log())
	}
	Expect(w.op.Alive(ctx)).To(Succeed())
})

// processOperator is bin/manager running as a process.
type processOperator struct{ m *localcluster.Manager }

func (p processOperator) Log() string { return p.m.Log() }
func (p processOperator) Stop() error { return p.m.Stop(15 * time.Second) }
func (p processOperator) MetricsURL(context.Context) (string, error) {
	return "https://" + p.m.MetricsAddr + "/metrics", nil
}
func (p processOperator) Alive(context.Context) error {
	if exited, err := p.m.Exited(); exited {
		return fmt.Errorf("the manager exited (%v); last lines of %s:\n%s", err, p.m.LogPath, p.m.Tail(50))
	}
	return nil
}

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
