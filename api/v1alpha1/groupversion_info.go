// Package v1alpha1 contains the API of cloudflare-token-operator: CloudflareToken, TokenIssuer and
// ClusterTokenIssuer in the group cloudflare.tokenoperator.dev.
// +kubebuilder:object:generate=true
// +groupName=cloudflare.tokenoperator.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is group version used to register these objects.
	GroupVersion = schema.GroupVersion{Group: "cloudflare.tokenoperator.dev", Version: "v1alpha1"}

	// SchemeBuilder collects the types of this group-version. It depends on apimachinery only, so that
	// the API package stays cheap to import.
	SchemeBuilder = &typesBuilder{}

	// AddToScheme adds the types in this group-version to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// typesBuilder registers objects with GroupVersion, as controller-runtime's scheme.Builder did.
type typesBuilder struct{ runtime.SchemeBuilder }

// Register adds objects to the group-version.
func (b *typesBuilder) Register(objs ...runtime.Object) {
	b.SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(GroupVersion, objs...)
		metav1.AddToGroupVersion(s, GroupVersion)
		return nil
	})
}
