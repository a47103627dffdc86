package admission_test

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	admissionregistrationv1apply "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// writeTypeChecking does for one policy what kube-controller-manager's ValidatingAdmissionPolicy status
// controller does (envtest runs no controller manager, so nobody else fills status.typeChecking): type-check
// every validation and messageExpression against the schemas the API server publishes (the CRDs' for
// object and params) and apply the warnings to status.typeChecking, with status.observedGeneration.
// Same checker (k8s.io/apiserver's TypeChecker), same schema source (the API server's OpenAPI v3), same
// status write as k8s.io/kubernetes/pkg/controller/validatingadmissionpolicystatus.
func writeTypeChecking(name string) {
	GinkgoHelper()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, policy)).To(Succeed())
	checker := &validating.TypeChecker{
		SchemaResolver: &resolver.ClientDiscoveryResolver{Discovery: discovery.NewDiscoveryClientForConfigOrDie(cfg)},
		RestMapper:     k8sClient.RESTMapper(),
	}
	found := checker.Check(policy)
	apply := make([]*admissionregistrationv1apply.ExpressionWarningApplyConfiguration, 0, len(found))
	for _, w := range found {
		apply = append(apply, admissionregistrationv1apply.ExpressionWarning().WithFieldRef(w.FieldRef).WithWarning(w.Warning))
	}
	clientset := kubernetes.NewForConfigOrDie(cfg)
	_, err := clientset.AdmissionregistrationV1().ValidatingAdmissionPolicies().ApplyStatus(ctx,
		admissionregistrationv1apply.ValidatingAdmissionPolicy(name).WithStatus(
			admissionregistrationv1apply.ValidatingAdmissionPolicyStatus().
				WithObservedGeneration(policy.Generation).
				WithTypeChecking(admissionregistrationv1apply.TypeChecking().WithExpressionWarnings(apply...))),
		metav1.ApplyOptions{FieldManager: "validatingadmissionpolicy-status-controller", Force: true})
	Expect(err).NotTo(HaveOccurred())
}
