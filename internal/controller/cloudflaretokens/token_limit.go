package cloudflaretokens

import (
	"context"
	"fmt"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/failure"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
)

// ensureNamespaceLimit enforces the issuer's spec.maxTokensPerNamespace on a resource's first token: how
// many CloudflareTokens of one namespace may hold tokens minted through the issuer. Rotations of a resource
// that already holds one are never refused. The count is read around the cache and the decision held
// under a lock until the intent is recorded (unlock), so that concurrent first mints cannot all pass.
func (r *Reconciler) ensureNamespaceLimit(ctx context.Context, p *tokenPass) (unlock func(), err error) {
	limit := p.iss.Spec.MaxTokensPerNamespace
	if limit == nil || p.tok.Status.TokenID != "" {
		return func() {}, nil
	}
	mu := r.namespaceLocks.get(p.iss.Key() + "|" + p.tok.Namespace)
	mu.Lock()
	list := &cfv1.CloudflareTokenList{}
	if err := r.APIReader.List(ctx, list, client.InNamespace(p.tok.Namespace)); err != nil {
		mu.Unlock()
		return nil, fmt.Errorf("counting the CloudflareTokens of namespace %s: %w", p.tok.Namespace, err)
	}
	held := 0
	for i := range list.Items {
		if t := &list.Items[i]; t.UID != p.tok.UID && holdsTokenOf(t, p.iss) {
			held++
		}
	}
	if held >= int(*limit) {
		mu.Unlock()
		return nil, failure.Refuse("NamespaceTokenLimit", "namespace %s already holds %d tokens through %s, "+
			"whose spec.maxTokensPerNamespace is %d", p.tok.Namespace, held, p.iss.Key(), *limit)
	}
	return mu.Unlock, nil
}

// holdsTokenOf: the resource holds a token minted through iss, or is minting one (its serial is recorded
// before the create, so a mint under way counts).
func holdsTokenOf(t *cfv1.CloudflareToken, iss *issuerclient.Issuer) bool {
	st := &t.Status
	if st.TokenID != "" && st.MintedBy != nil {
		return st.MintedBy.IssuerKind == iss.Kind && st.MintedBy.IssuerName == iss.Name
	}
	if st.TokenID == "" && !hasUnrecordedAttempt(st) {
		return false
	}
	return t.DeletionTimestamp.IsZero() && t.Spec.IssuerRef.Kind == iss.Kind && t.Spec.IssuerRef.Name == iss.Name
}

// keyedMutex hands out one mutex per key.
type keyedMutex struct{ m sync.Map }

func (k *keyedMutex) get(key string) *sync.Mutex {
	mu, _ := k.m.LoadOrStore(key, &sync.Mutex{})
	return mu.(*sync.Mutex)
}
