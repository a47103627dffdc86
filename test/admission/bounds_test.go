package admission_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

func entries(rows []row) []TableEntry {
	out := make([]TableEntry, 0, len(rows))
	for _, r := range rows {
		out = append(out, Entry(r.desc, r))
	}
	return out
}

var _ = Describe("CloudflareTokens written against their issuer's bounds", func() {
	DescribeTable("outside the bounds: denied at admission, with the field and the rule named",
		expectOutcome,
		entries(deniedRows))

	DescribeTable("inside the bounds, or for an issuer the policies cannot judge: admitted, without warning",
		expectOutcome,
		entries(admittedRows))

	DescribeTable("across the trust boundary (fail closed, token-creating groups): denied at admission",
		expectOutcome,
		entries(trustDeniedRows))

	DescribeTable("given by id, or spelt otherwise, where the controller decides after resolving: admitted",
		expectOutcome,
		entries(trustAdmittedRows))

	DescribeTable("a zone whose DNS records Cloudflare will not edit through the API: admitted with a warning",
		expectOutcome,
		entries(warnedRows))
})

// expectOutcome writes a row's token and expects the row's outcome.
func expectOutcome(r row) {
	GinkgoHelper()
	Expect(r.verify(false)).To(Succeed())
}

// deniedBy is the error text an UPDATE (or CREATE) denied by the policy ends with.
func deniedBy(policy, message string) string {
	return fmt.Sprintf("ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s", policy, policy, message)
}

func expectDenied(err error, message string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred())
	Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	Expect(err.Error()).To(HaveSuffix(deniedBy(clusterPolicy, message)))
}

var _ = Describe("UPDATEs of a CloudflareToken", Ordered, func() {
	It("denies a spec change that leaves the bounds, and admits one inside them", func() {
		tok := token("grows", nsPlain, cti, "bounded", zones("example.com"), allowFrom("203.0.113.0/24"))
		Expect(k8sClient.Create(ctx, tok)).To(Succeed())

		wider := tok.DeepCopy()
		wider.Spec.Zones = append(wider.Spec.Zones, "example.org")
		expectDenied(k8sClient.Update(ctx, wider), "spec.zones: zone 'example.org' is not in "+boundedZones)

		longer := tok.DeepCopy()
		longer.Spec.TTL = hours(1001)
		expectDenied(k8sClient.Update(ctx, longer),
			"spec.ttl: 1001h0m0s exceeds ClusterTokenIssuer bounded's spec.maxTTL 1000h0m0s")

		moved := tok.DeepCopy()
		moved.Spec.SourceRanges.Allow = []cfv1.CIDR{"203.0.112.0/24"}
		expectDenied(k8sClient.Update(ctx, moved),
			"spec.sourceRanges.allow: 203.0.112.0/24 is outside "+boundedRanges+" [203.0.113.0/24]")

		narrower := tok.DeepCopy()
		narrower.Spec.SourceRanges.Allow = []cfv1.CIDR{"203.0.113.0/28"}
		narrower.Spec.Permissions = []string{"Zone Read", "DNS Write"}
		Expect(k8sClient.Update(ctx, narrower)).To(Succeed())
	})

	It("warns when an update adds a blocked zone", func() {
		tok := token("adds-tk", nsPlain, cti, "open", zones("example.com"))
		warnings.reset()
		Expect(k8sClient.Create(ctx, tok)).To(Succeed())
		Expect(warnings.list()).To(BeEmpty())

		tok.Spec.Zones = append(tok.Spec.Zones, "example.gq")
		warnings.reset()
		Expect(k8sClient.Update(ctx, tok)).To(Succeed())
		Expect(warnings.list()).To(ConsistOf(warningText("spec.zones: " + blockedText + " (zone 'example.gq')" + blockedSuffix)))

		// A metadata-only update (the controller's finalizer) is not warned about again.
		controllerutil.AddFinalizer(tok, cfv1.FinalizerRevokeTokens)
		warnings.reset()
		Expect(k8sClient.Update(ctx, tok)).To(Succeed())
		Expect(warnings.list()).To(BeEmpty())
	})

	It("admits metadata-only updates of a token its issuer was tightened under, so that it can be deleted", func() {
		tok := token("legacy", nsPlain, cti, "tightened", zones("example.net"))
		Expect(k8sClient.Create(ctx, tok)).To(Succeed())

		iss := &cfv1.ClusterTokenIssuer{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "tightened"}, iss)).To(Succeed())
		iss.Spec.AllowedZones = []string{"example.com"}
		Expect(k8sClient.Update(ctx, iss)).To(Succeed())
		// The policy reads issuers from an informer: wait until it sees the stricter one.
		probe := token("legacy-probe", nsPlain, cti, "tightened", zones("example.net"))
		Eventually(func() error { return k8sClient.Create(ctx, probe.DeepCopy(), client.DryRunAll) }).
			WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).
			Should(MatchError(HaveSuffix(deniedBy(clusterPolicy,
				"spec.zones: zone 'example.net' is not in ClusterTokenIssuer tightened's spec.allowedZones [example.com]"))))

		// The controller's finalizer and a person's rotate annotation pass: the controller refuses the token.
		controllerutil.AddFinalizer(tok, cfv1.FinalizerRevokeTokens)
		metav1.SetMetaDataAnnotation(&tok.ObjectMeta, cfv1.AnnotationRotate, "1")
		Expect(k8sClient.Update(ctx, tok)).To(Succeed())

		// So does a change that keeps the scope.
		renamed := tok.DeepCopy()
		renamed.Spec.Secret.Name = "legacy-renamed"
		Expect(k8sClient.Update(ctx, renamed)).To(Succeed())
		tok = renamed

		// A change of scope is judged against the issuer as it is now.
		changed := tok.DeepCopy()
		changed.Spec.TTL = hours(24)
		expectDenied(k8sClient.Update(ctx, changed),
			"spec.zones: zone 'example.net' is not in ClusterTokenIssuer tightened's spec.allowedZones [example.com]")

		// Deletion: the finalizer is removed by an UPDATE that must pass.
		Expect(k8sClient.Delete(ctx, tok)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(tok), tok)).To(Succeed())
		Expect(tok.DeletionTimestamp).NotTo(BeNil())
		controllerutil.RemoveFinalizer(tok, cfv1.FinalizerRevokeTokens)
		Expect(k8sClient.Update(ctx, tok)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(tok), &cfv1.CloudflareToken{}))
		}).WithTimeout(10 * time.Second).Should(BeTrue())
	})
})

// rowsFor lists the rows a validation (by its static message) decides.
func rowsFor(policy, rule string) []row {
	var out []row
	for _, rows := range [][]row{deniedRows, trustDeniedRows, warnedRows} {
		for _, r := range rows {
			if r.policy == policy && r.rule == rule {
				out = append(out, r)
			}
		}
	}
	return out
}

// longName is a distinct name of exactly n characters ending in suffix.
func longName(i, n int, suffix string) string {
	head := fmt.Sprintf("%03d-", i)
	return head + strings.Repeat("x", n-len(head)-len(suffix)) + suffix
}

var _ = Describe("A token at every maxItems of the schemas", func() {
	It("is decided by the policy within the CEL cost limits, not refused for cost", func() {
		// An issuer at its own maxItems: 256 allowed zones of 252 characters (253 with the trailing dot a
		// token may write), 256 permissions of 128.
		allowedZones := make([]string, 256)
		allowedPerms := make([]string, 256)
		for i := range allowedZones {
			allowedZones[i] = longName(i, 252, ".example.com")
			allowedPerms[i] = longName(i, 128, " Write")
		}
		Expect(k8sClient.Create(ctx, &cfv1.ClusterTokenIssuer{ObjectMeta: metav1.ObjectMeta{Name: "crowded"},
			Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
				APITokenSecretRef: credential(), AllowedZones: allowedZones, AllowedPermissions: allowedPerms,
			}}})).To(Succeed())
		// 32 policies of 64 zones and 64 permissions, every one matched by the issuer's last entries, in
		// another case, the zones with a trailing dot (the worst case of each lookup: the zones are found
		// only in the dotted copy of the list, after a miss in the list itself).
		policies := make([]cfv1.Policy, 32)
		for p := range policies {
			policies[p] = cfv1.Policy{Effect: "allow"}
			for i := 0; i < 64; i++ {
				policies[p].Zones = append(policies[p].Zones, strings.ToUpper(allowedZones[192+i])+".")
				policies[p].Permissions = append(policies[p].Permissions, strings.ToUpper(allowedPerms[192+i]))
			}
		}
		maximal := token("maximal", nsPlain, cti, "crowded", withPolicies(policies...))

		// The last zone of the last policy outside: denied with the rule's own message (once the policy's
		// informer has the new issuer).
		last := strings.Repeat("y", 253)
		outside := maximal.DeepCopy()
		outside.Spec.Policies[31].Zones[63] = last
		Eventually(func() error { return k8sClient.Create(ctx, outside.DeepCopy(), client.DryRunAll) }).
			WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(MatchError(HaveSuffix(deniedBy(clusterPolicy,
			fmt.Sprintf("spec.policies[31].zones: zone '%s' is not in ClusterTokenIssuer crowded's spec.allowedZones (256 entries)", last)))))
		// Everything inside: admitted.
		warnings.reset()
		Expect(k8sClient.Create(ctx, maximal)).To(Succeed())
		Expect(warnings.list()).To(BeEmpty())
	})
})
