package cloudflaretokens

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// The cache selects Secrets by the operator's label, which any tenant can put on its own Secrets. So that
// labelled Secrets cannot fill the manager's memory, the controller watches their metadata only (the API
// server sends no data) and reads its own Secrets around the cache. The transform below keeps, of that
// metadata, only the operator's labels and annotations; should a full Secret ever reach the cache, it
// replaces each value by its digest, and only for Secrets a CloudflareToken controls.

// digestAnnotationPrefix marks, on cached copies only, the digest of one data key's value. Never written:
// writeSecret replaces the annotations whole.
const digestAnnotationPrefix = "cache.cloudflare.tokenoperator.dev/sha256."

// maxDigestedKeys bounds what a Secret of many keys can cost: the operator writes at most three.
const maxDigestedKeys = 8

// ourSecretMeta are the labels and annotations the operator reads from cached Secrets.
var ourSecretMeta = []string{cfv1.LabelManagedBy, cfv1.LabelToken, cfv1.AnnotationTokenID, cfv1.AnnotationExpiresAt, annotationChecksum}

// SecretMetadata is the object the cache holds Secrets as: their metadata only.
func SecretMetadata() *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}}
}

// TransformSecretForCache is the cache's transform for Secrets and their metadata (see above).
func TransformSecretForCache(obj any) (any, error) {
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
		m.ManagedFields = nil
		m.Annotations = keepOnly(m.Annotations)
		if owner := metav1.GetControllerOfNoCopy(m); owner == nil || owner.Kind != "CloudflareToken" {
			m.Labels = keepOnly(m.Labels)
		}
		return m, nil
	}
	sec, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	sec.ManagedFields = nil
	controlled := controlledByCloudflareToken(sec)
	annotations := keepOnly(sec.Annotations)
	if controlled && len(sec.Data) <= maxDigestedKeys {
		for k, v := range sec.Data {
			if len(v) > 0 {
				annotations[digestAnnotationPrefix+k] = checksum(v)
			}
		}
	}
	sec.Annotations = annotations
	if !controlled {
		sec.Labels = keepOnly(sec.Labels)
	}
	sec.Data, sec.StringData = nil, nil
	return sec, nil
}

func controlledByCloudflareToken(sec *corev1.Secret) bool {
	owner := metav1.GetControllerOf(sec)
	return owner != nil && owner.Kind == "CloudflareToken" && strings.HasPrefix(owner.APIVersion, cfv1.GroupVersion.Group+"/")
}

func keepOnly(in map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range ourSecretMeta {
		if v, ok := in[k]; ok {
			out[k] = v
		}
	}
	return out
}

// valueDigest is the digest of the Secret's value under key, from its data when it has been read whole,
// else from the digest the cache kept; ok is false when there is no (non-empty) value.
func valueDigest(sec *corev1.Secret, key string) (digest string, ok bool) {
	if sec.Data != nil {
		v := sec.Data[key]
		return checksum(v), len(v) > 0
	}
	digest, ok = sec.Annotations[digestAnnotationPrefix+key]
	return digest, ok
}
