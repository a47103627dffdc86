package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// retireReplacedTokens revokes replaced tokens whose grace period is over. One that cannot be revoked
// stays in the list and is tried again with backoff: a revocation is never dropped.
func (r *CloudflareTokenReconciler) retireReplacedTokens(ctx context.Context, p *tokenPass) error {
	due, waiting := retiringDue(p.tok.Status.RetiringTokens, p.now)
	if len(due) == 0 {
		return nil
	}
	var errs []error
	for _, rt := range due {
		if err := p.cl.DeleteToken(ctx, rt.ID); err != nil {
			errs = append(errs, fmt.Errorf("revoking replaced token %s: %w", rt.ID, err))
			r.observer().RevocationFailed(p.iss.key())
			waiting = append(waiting, rt)
			continue
		}
		r.Inventory.Forget(p.iss.inventoryKey(), rt.ID)
		r.observer().Revoked(p.iss.key(), "rotation")
		r.event(p.tok, corev1.EventTypeNormal, "Revoked", "Revoke", "Revoked replaced token %s after its grace period", rt.ID)
	}
	p.tok.Status.RetiringTokens = sortRetiring(waiting)
	return errors.Join(errs...)
}

func sortRetiring(in []cfv1.RetiringToken) []cfv1.RetiringToken {
	if len(in) == 0 {
		return nil
	}
	slices.SortFunc(in, func(a, b cfv1.RetiringToken) int { return a.RevokeAt.Compare(b.RevokeAt.Time) })
	return in
}
