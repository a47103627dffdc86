package cluster

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// failover: two replicas; the leader's Pod deleted; the standby takes the Lease and reconciles; the token
// made before stays the only one, and a rotation after the failover is done once.
func failover(ctx SpecContext) {
	mustKubectlInput(ctx, restrictedNamespace("team-a"), "apply", "-f", "-")
	mustKubectlInput(ctx, cloudflareToken("team-a", "failover", "failover-token"), "apply", "-f", "-")
	waitReady(ctx, "-n", "team-a", "cftoken/failover")
	id := tokenID(ctx, "team-a", "failover")

	mustKubectl(ctx, "scale", "-n", namespace, "deployment", yamlManager, "--replicas=2")
	checkManagerPods(ctx, 2)
	leader := leaderPod(ctx)
	Expect(leader).NotTo(BeEmpty())

	By("deleting the leader's Pod " + leader)
	mustKubectl(ctx, "delete", "pod", "-n", namespace, leader, "--wait=false")
	Eventually(func() string { return leaderPod(ctx) }).ShouldNot(Or(Equal(leader), BeEmpty()))
	newLeader := leaderPod(ctx)

	By("the new leader " + newLeader + " reconciles: a rotation after the failover, done once")
	mustKubectl(ctx, "annotate", "-n", "team-a", "cftoken", "failover", cfv1.AnnotationRotate+"=failover-1", "--overwrite")
	Eventually(func() string { return tokenID(ctx, "team-a", "failover") }).ShouldNot(Equal(id))
	waitReady(ctx, "-n", "team-a", "cftoken/failover")
	rotated := tokenID(ctx, "team-a", "failover")
	Expect(verify(ctx, secretValue(ctx, "team-a", "failover-token"))).To(Equal(rotated))
	Eventually(func() bool { return live(ctx, id) }).Should(BeFalse())
	Consistently(func() []string {
		toks := liveNamed(ctx, "failover")
		ids := make([]string, 0, len(toks))
		for _, t := range toks {
			ids = append(ids, t.ID)
		}
		return ids
	}, "10s").Should(ConsistOf(rotated), "one live token for the resource: none minted twice")
	checkManagerPods(ctx, 2)
}

// namespaceDeletion: a namespace with two CloudflareTokens deleted; the operator's finalizers revoke both
// tokens, and then the namespace controller removes the namespace.
func namespaceDeletion(ctx SpecContext) {
	mustKubectlInput(ctx, restrictedNamespace("team-b"), "apply", "-f", "-")
	names := []string{"one", "two"}
	ids := make([]string, 0, len(names))
	for _, name := range names {
		mustKubectlInput(ctx, cloudflareToken("team-b", name, name+"-token"), "apply", "-f", "-")
		waitReady(ctx, "-n", "team-b", "cftoken/"+name)
		ids = append(ids, tokenID(ctx, "team-b", name))
	}
	for _, id := range ids {
		Expect(live(ctx, id)).To(BeTrue())
	}
	mustKubectl(ctx, "delete", "namespace", "team-b", "--timeout=3m")
	_, err := w.admin.Run(ctx, "get", "namespace", "team-b")
	Expect(err).To(MatchError(ContainSubstring("NotFound")))
	for _, id := range ids {
		Expect(live(ctx, id)).To(BeFalse(), "token %s outlived its namespace", id)
	}
}

// garbageCollection: with the operator stopped and the finalizer taken off by hand (what an administrator
// does to force a deletion), the CloudflareToken goes and the kube-controller-manager's garbage collector
// deletes the Secret it owns.
func garbageCollection(ctx SpecContext) {
	mustKubectlInput(ctx, restrictedNamespace("team-c"), "apply", "-f", "-")
	mustKubectlInput(ctx, cloudflareToken("team-c", "gc", "gc-token"), "apply", "-f", "-")
	waitReady(ctx, "-n", "team-c", "cftoken/gc")
	Expect(jsonpath(ctx, "{.metadata.ownerReferences[0].kind}", "-n", "team-c", "secret", "gc-token")).To(Equal("CloudflareToken"))

	mustKubectl(ctx, "scale", "-n", namespace, "deployment", yamlManager, "--replicas=0")
	Eventually(func() int { return len(managerPods(ctx)) }).Should(BeZero())
	mustKubectl(ctx, "delete", "-n", "team-c", "cftoken", "gc", "--wait=false")
	mustKubectl(ctx, "patch", "-n", "team-c", "cftoken", "gc", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	Eventually(func() error {
		_, err := w.admin.Run(ctx, "get", "-n", "team-c", "secret", "gc-token")
		return err
	}).Should(MatchError(ContainSubstring("NotFound")))
}
