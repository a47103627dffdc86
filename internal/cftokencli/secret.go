package cftokencli

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// secretTokenID is the token id the Secret's annotation names. Only the Secret's metadata is asked for:
// rotate never receives the value.
func (s *session) secretTokenID(ctx context.Context, ns, name string) (string, error) {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := s.kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, m); err != nil {
		return "", fmt.Errorf("reading Secret %s/%s: %w", ns, name, err)
	}
	return m.Annotations[cfv1.AnnotationTokenID], nil
}
