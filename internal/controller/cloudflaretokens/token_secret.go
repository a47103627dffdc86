package cloudflaretokens

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/failure"
)

// annotationChecksum lets the operator notice a value edited by hand without keeping the value anywhere
// but the Secret. Token values are long and random, so their digest gives nothing away.
const annotationChecksum = "cloudflare.tokenoperator.dev/checksum"

func secretName(tok *cfv1.CloudflareToken) string {
	if tok.Spec.Secret.Name != "" {
		return tok.Spec.Secret.Name
	}
	return tok.Name
}

// secretKey is the key the token value is written under: spec.secret.key, else the preset's key
// (cert-manager: api-token, external-dns: apiKey).
func secretKey(tok *cfv1.CloudflareToken) string {
	return tok.Spec.Secret.TokenKey()
}

// secretData is the Secret's data: the value under the token key and, where the template names extra keys,
// the token's id and expiry under them. The value goes under one key only.
func secretData(tok *cfv1.CloudflareToken, value []byte, tokenID, expiresAt string) map[string][]byte {
	data := map[string][]byte{}
	if x := tok.Spec.Secret.ExtraKeys; x != nil {
		if x.TokenIDKey != "" {
			data[x.TokenIDKey] = []byte(tokenID)
		}
		if x.ExpiresAtKey != "" {
			data[x.ExpiresAtKey] = []byte(expiresAt)
		}
	}
	// Last, so that an extra key equal to the token key (which the schema refuses) cannot hide the value.
	data[secretKey(tok)] = value
	return data
}

// extraKeysCurrent says whether the extra keys the template names hold the Secret's token id and expiry.
func extraKeysCurrent(sec *corev1.Secret, tok *cfv1.CloudflareToken) bool {
	x := tok.Spec.Secret.ExtraKeys
	if x == nil {
		return true
	}
	holds := func(key, want string) bool {
		d, ok := valueDigest(sec, key)
		return ok && d == checksum([]byte(want))
	}
	if x.TokenIDKey != "" && !holds(x.TokenIDKey, sec.Annotations[cfv1.AnnotationTokenID]) {
		return false
	}
	return x.ExpiresAtKey == "" || holds(x.ExpiresAtKey, sec.Annotations[cfv1.AnnotationExpiresAt])
}

func checksum(value []byte) string {
	sum := sha256.Sum256(value)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ownsSecret says whether the Secret is the one this operator writes for tok: labelled as such and
// controlled by tok. Anything else is foreign and never touched, whatever its labels say (a tenant can put
// the operator's labels on any Secret).
func ownsSecret(sec *corev1.Secret, tok *cfv1.CloudflareToken) bool {
	if sec.Labels[cfv1.LabelManagedBy] != cfv1.ManagedByValue || sec.Labels[cfv1.LabelToken] != tok.Name {
		return false
	}
	owner := metav1.GetControllerOf(sec)
	return owner != nil && owner.UID == tok.UID
}

// holdsToken says whether the Secret still holds the value written for tokenID, laid out as the template
// says (a changed key or extra keys mean a new token, written the new way).
func holdsToken(sec *corev1.Secret, tok *cfv1.CloudflareToken, tokenID string) bool {
	if sec == nil || sec.Annotations[cfv1.AnnotationTokenID] != tokenID {
		return false
	}
	d, ok := valueDigest(sec, secretKey(tok))
	return ok && sec.Annotations[annotationChecksum] == d && extraKeysCurrent(sec, tok)
}

// readSecret GETs the token's Secret through r, which must read around the cache (the manager's API reader):
// the cache holds Secrets' metadata only, and a stale copy could overwrite or adopt the wrong value. Each
// call is one request. It returns nil when there is no such Secret.
func readSecret(ctx context.Context, r client.Reader, tok *cfv1.CloudflareToken) (*corev1.Secret, error) {
	sec := &corev1.Secret{}
	err := r.Get(ctx, types.NamespacedName{Namespace: tok.Namespace, Name: secretName(tok)}, sec)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", tok.Namespace, secretName(tok), err)
	}
	return sec, nil
}

// writeSecret writes the token value into the Secret, creating it when missing. A Secret of that name that
// the operator did not create is refused, not overwritten.
func writeSecret(ctx context.Context, c client.Client, reader client.Reader, scheme *runtime.Scheme, tok *cfv1.CloudflareToken,
	value cloudflare.Secret, tokenID string, expiresAt time.Time) error {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tok.Namespace, Name: secretName(tok)}}
	existing, err := readSecret(ctx, reader, tok)
	if err != nil {
		return err
	}
	if existing != nil {
		if !ownsSecret(existing, tok) {
			return foreignSecret(tok)
		}
		sec = existing
	}
	data := []byte(value.Reveal())
	expires := expiresAt.UTC().Format(time.RFC3339)
	sec.Type = corev1.SecretTypeOpaque
	sec.Labels = merged(tok.Spec.Secret.Labels, map[string]string{
		cfv1.LabelManagedBy: cfv1.ManagedByValue,
		cfv1.LabelToken:     tok.Name,
	})
	sec.Annotations = merged(tok.Spec.Secret.Annotations, map[string]string{
		cfv1.AnnotationTokenID:   tokenID,
		cfv1.AnnotationExpiresAt: expires,
		annotationChecksum:       checksum(data),
	})
	sec.Data = secretData(tok, data, tokenID, expires)
	if err := controllerutil.SetControllerReference(tok, sec, scheme); err != nil {
		return fmt.Errorf("owning Secret %s: %w", sec.Name, err)
	}
	if existing == nil {
		err = c.Create(ctx, sec)
		if apierrors.IsAlreadyExists(err) {
			// Created since it was read, by someone else.
			return foreignSecret(tok)
		}
	} else {
		err = c.Update(ctx, sec)
	}
	if err != nil {
		return fmt.Errorf("writing Secret %s/%s: %w", tok.Namespace, sec.Name, err)
	}
	return nil
}

func foreignSecret(tok *cfv1.CloudflareToken) error {
	return &failure.Refusal{Reason: "SecretConflict", RetryAfter: time.Minute, Message: fmt.Sprintf(
		"Secret %s/%s exists and was not created by this operator for CloudflareToken %s; "+
			"delete it or set spec.secret.name to another name", tok.Namespace, secretName(tok), tok.Name)}
}

// merged is user values overlaid by the operator's, which win.
func merged(user, ours map[string]string) map[string]string {
	out := make(map[string]string, len(user)+len(ours))
	maps.Copy(out, user)
	maps.Copy(out, ours)
	return out
}
