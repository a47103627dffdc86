// Package v1alpha1 contains the API of cloudflare-token-operator: CloudflareToken, TokenIssuer and
// ClusterTokenIssuer in the group cloudflare.tokenoperator.dev.
// +kubebuilder:object:generate=true
// +groupName=cloudflare.tokenoperator.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is group version used to register these objects.
	GroupVersion = schema.GroupVersion{Group: "cloudflare.tokenoperator.dev", Version: "v1alpha1"}

	// SchemeBuilder is used to add go types to the GroupVersionKind scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types in this group-version to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
