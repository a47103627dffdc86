package cluster

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster"
)

// One ordered walk: each spec builds on the state the previous one left (the cluster is minutes to start).
var _ = Describe("The operator in a Pod of a one-node cluster", Ordered, func() {
	It("installs with helm install dist/chart: the Pod runs the image as 65532, read-only, no capabilities, "+
		"Ready under restricted Pod Security, and reaches the API server through the kubernetes Service", func(ctx SpecContext) {
		mustKubectlInput(ctx, restrictedNamespace(namespace), "apply", "-f", "-")
		By("helm install " + release + " dist/chart --namespace " + namespace)
		mustHelm(ctx, "install", release, "dist/chart", "--namespace", namespace,
			"--set", "operator.cloudflareAPIURL="+w.fake.Info.URL)
		mustKubectl(ctx, "rollout", "status", "-n", namespace, "deployment/"+helmManager, "--timeout=5m")
		checkManagerPods(ctx, 1)
	})

	It("uninstalls with helm, and runs again from kubectl apply -f dist/install.yaml", func(ctx SpecContext) {
		mustHelm(ctx, "uninstall", release, "--namespace", namespace, "--wait", "--timeout", "3m")
		Eventually(func() string {
			return mustKubectl(ctx, "get", "pods", "-n", namespace, "-l", podSelector, "-o", "name")
		}).Should(BeEmpty())

		By("kubectl apply -f dist/install.yaml (its image controller:latest is pulled through the local mirror)")
		mustKubectl(ctx, "apply", "-f", "dist/install.yaml")
		By("pointing the manager at the fake Cloudflare API (--cloudflare-api-url)")
		mustKubectl(ctx, "patch", "-n", namespace, "deployment", yamlManager, "--type=json", "-p",
			fmt.Sprintf(`[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--cloudflare-api-url=%s"}]`, w.fake.Info.URL))
		mustKubectl(ctx, "rollout", "status", "-n", namespace, "deployment/"+yamlManager, "--timeout=5m")
		checkManagerPods(ctx, 1)
	})

	It("walks a token's life from the Pod: mint, Secret live, rotate, delete revokes and removes the Secret", func(ctx SpecContext) {
		lifecycle(ctx)
	})

	It("serves metrics through the metrics Service to a ServiceAccount token with the metrics-reader role", func(ctx SpecContext) {
		scrapeThroughService(ctx)
	})

	It("fails over with two replicas: the leader's Pod deleted, the other takes over, no token minted twice", func(ctx SpecContext) {
		failover(ctx)
	})

	It("revokes every token of a namespace deleted with CloudflareTokens inside, and the namespace goes", func(ctx SpecContext) {
		namespaceDeletion(ctx)
	})

	It("leaves a Secret owned by a deleted CloudflareToken to the garbage collector", func(ctx SpecContext) {
		garbageCollection(ctx)
	})

	It("tears the cluster down and leaves no process, mount, network namespace, link or iptables rule behind", func(ctx SpecContext) {
		Expect(w.fake.Stop(5 * time.Second)).To(Succeed())
		w.fake = nil
		dir := w.cluster.Dir()
		Expect(w.cluster.Stop()).To(Succeed())
		w.cluster = nil
		after, err := localcluster.SnapshotHost()
		Expect(err).NotTo(HaveOccurred())
		Expect(w.before.Leftovers(after)).To(BeEmpty())
		Expect(dir).NotTo(BeADirectory())
		Expect(localcluster.ClusterProcesses(w.root, dir)).To(BeEmpty())
	})
})

// restrictedNamespace is a Namespace enforcing the restricted Pod Security Standard.
func restrictedNamespace(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/warn: restricted
`, name)
}

// waitReady waits for condition Ready of one object (args as for kubectl wait).
func waitReady(ctx SpecContext, args ...string) {
	GinkgoHelper()
	mustKubectl(ctx, append([]string{"wait", "--for=condition=Ready", "--timeout=3m"}, args...)...)
}

func jsonpath(ctx SpecContext, path string, args ...string) string {
	GinkgoHelper()
	return strings.TrimSpace(mustKubectl(ctx, append(append([]string{"get"}, args...), "-o", "jsonpath="+path)...))
}
