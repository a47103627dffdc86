package cluster

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster"
)

const leaseName = "cloudflare-token-operator.tokenoperator.dev"

// managerPods are the running manager Pods.
func managerPods(ctx SpecContext) []corev1.Pod {
	GinkgoHelper()
	var list corev1.PodList
	Expect(json.Unmarshal([]byte(mustKubectl(ctx, "get", "pods", "-n", namespace, "-l", podSelector, "-o", "json")), &list)).To(Succeed())
	return list.Items
}

// checkManagerPods waits for n Ready manager Pods and checks each one: its spec (the shipped
// securityContext and probes), and its process on this host as the runtime started it (uid 65532, no
// capabilities, no_new_privs, seccomp filter, read-only root, the kubernetes Service in its environment);
// one of them holds the leader Lease, which it can only take through the API server.
func checkManagerPods(ctx SpecContext, n int) {
	GinkgoHelper()
	var pods []corev1.Pod
	Eventually(func(g Gomega) {
		pods = managerPods(ctx)
		g.Expect(pods).To(HaveLen(n))
		for _, p := range pods {
			g.Expect(p.DeletionTimestamp).To(BeNil())
			g.Expect(podReady(p)).To(BeTrue(), "Pod %s not Ready: %+v", p.Name, p.Status.Conditions)
		}
	}).Should(Succeed())
	subnet := netip.MustParsePrefix(localcluster.PodSubnet)
	for _, p := range pods {
		Expect(p.Spec.NodeName).To(Equal(localcluster.NodeName))
		Expect(subnet.Contains(netip.MustParseAddr(p.Status.PodIP))).To(BeTrue(), "Pod IP %s", p.Status.PodIP)
		psc := p.Spec.SecurityContext
		Expect(*psc.RunAsNonRoot).To(BeTrue())
		Expect(*psc.RunAsUser).To(Equal(int64(65532)))
		Expect(psc.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
		c := p.Spec.Containers[0]
		Expect(*c.SecurityContext.ReadOnlyRootFilesystem).To(BeTrue())
		Expect(*c.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
		Expect(c.SecurityContext.Capabilities.Drop).To(ContainElement(corev1.Capability("ALL")))
		Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
		Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
		checkManagerProcess(p)
	}
	Eventually(func() string {
		holder := jsonpath(ctx, "{.spec.holderIdentity}", "lease", "-n", namespace, leaseName)
		for _, p := range pods {
			if strings.HasPrefix(holder, p.Name+"_") {
				return p.Name
			}
		}
		return "holder " + holder
	}).Should(BeElementOf(podNames(pods)))
}

// checkManagerProcess reads the manager's process in /proc: what runc applied, not what the spec asked.
func checkManagerProcess(p corev1.Pod) {
	GinkgoHelper()
	Expect(p.Status.ContainerStatuses).To(HaveLen(1))
	id := strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "containerd://")
	pid, err := localcluster.ContainerPid(id)
	Expect(err).NotTo(HaveOccurred())
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	Expect(err).NotTo(HaveOccurred())
	fields := map[string]string{}
	for _, line := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	Expect(fields["Uid"]).To(Equal("65532 65532 65532 65532"))
	Expect(fields["Gid"]).To(HavePrefix("65532 65532"))
	Expect(fields["CapEff"]).To(Equal("0000000000000000"))
	Expect(fields["CapBnd"]).To(Equal("0000000000000000"))
	Expect(fields["NoNewPrivs"]).To(Equal("1"))
	Expect(fields["Seccomp"]).To(Equal("2"), "no seccomp filter")
	mounts, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	Expect(err).NotTo(HaveOccurred())
	var rootOpts string
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 5 && f[4] == "/" {
			rootOpts = f[5]
		}
	}
	Expect(strings.Split(rootOpts, ",")).To(ContainElement("ro"), "the root filesystem is mounted %q", rootOpts)
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	Expect(err).NotTo(HaveOccurred())
	Expect(strings.Split(string(environ), "\x00")).To(ContainElement("KUBERNETES_SERVICE_HOST="+localcluster.KubernetesServiceIP),
		"in-cluster configuration goes through the kubernetes Service")
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	Expect(err).NotTo(HaveOccurred())
	Expect(exe).To(HaveSuffix("/manager"))
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podNames(pods []corev1.Pod) []string {
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return names
}

// leaderPod is the Pod holding the leader Lease (the holder identity is <pod name>_<uuid>).
func leaderPod(ctx SpecContext) string {
	GinkgoHelper()
	var lease coordinationv1.Lease
	Expect(json.Unmarshal([]byte(mustKubectl(ctx, "get", "lease", "-n", namespace, leaseName, "-o", "json")), &lease)).To(Succeed())
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	name, _, _ := strings.Cut(*lease.Spec.HolderIdentity, "_")
	return name
}
