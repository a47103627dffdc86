package controller

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// ensureFinalizer makes sure the resource cannot go before its tokens are revoked.
func (r *CloudflareTokenReconciler) ensureFinalizer(ctx context.Context, p *tokenPass) error {
	if controllerutil.ContainsFinalizer(p.tok, cfv1.FinalizerRevokeTokens) {
		return nil
	}
	before := p.tok.DeepCopy()
	controllerutil.AddFinalizer(p.tok, cfv1.FinalizerRevokeTokens)
	if err := r.Patch(ctx, p.tok, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("adding finalizer: %w", err)
	}
	// The status patch's optimistic lock checks the resourceVersion of its base: move it to the version this
	// write made, or the pass's own intent record would conflict with it (and every first mint wait a requeue).
	p.patch.base.ResourceVersion = p.tok.ResourceVersion
	p.patch.base.Finalizers = p.tok.Finalizers
	return nil
}

// reconcileDelete revokes every token of the resource (deletionPolicy Revoke) or hands the current one and
// its Secret over to the user (Retain), then lets the resource go. A revocation that fails keeps the
// finalizer and is retried with backoff; it is never dropped.
func (r *CloudflareTokenReconciler) reconcileDelete(ctx context.Context, p *tokenPass) error {
	if !controllerutil.ContainsFinalizer(p.tok, cfv1.FinalizerRevokeTokens) {
		return nil
	}
	if p.tok.Status.TokenID != "" || len(p.tok.Status.RetiringTokens) > 0 || p.tok.Status.Serial > 0 {
		if err := r.revokeForDeletion(ctx, p); err != nil {
			return err
		}
	}
	if err := r.releaseSecret(ctx, p.tok); err != nil {
		return err
	}
	before := p.tok.DeepCopy()
	controllerutil.RemoveFinalizer(p.tok, cfv1.FinalizerRevokeTokens)
	if err := r.Patch(ctx, p.tok, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("removing finalizer: %w", err)
	}
	return nil
}

func (r *CloudflareTokenReconciler) revokeForDeletion(ctx context.Context, p *tokenPass) error {
	iss, err := r.Issuers.loadIssuerObject(ctx, p.tok.Spec.IssuerRef, p.tok.Namespace)
	if err != nil {
		return fmt.Errorf("cannot revoke tokens without the issuer (restore it, or remove finalizer %s by hand "+
			"and revoke the tokens in the dashboard): %w", cfv1.FinalizerRevokeTokens, err)
	}
	if err := r.Issuers.loadCredential(ctx, iss); err != nil {
		return err
	}
	cl, err := r.Factory.ClientFor(iss.config)
	if err != nil {
		return err
	}
	p.iss, p.cl = iss, cl
	if err := r.recoverUnrecordedTokens(ctx, p); err != nil {
		return err
	}
	st := &p.tok.Status
	ids := make([]string, 0, len(st.RetiringTokens)+1)
	for _, rt := range st.RetiringTokens {
		ids = append(ids, rt.ID)
	}
	if st.TokenID != "" && p.tok.Spec.DeletionPolicy != cfv1.DeletionPolicyRetain {
		ids = append(ids, st.TokenID)
	}
	var errs []error
	for _, id := range ids {
		if err := cl.DeleteToken(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("revoking token %s: %w", id, err))
			r.observer().RevocationFailed(iss.key())
			continue
		}
		r.Inventory.Forget(iss.inventoryKey(), id)
		r.observer().Revoked(iss.key(), "deletion")
		r.dropRecorded(st, id)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.event(p.tok, corev1.EventTypeNormal, "Revoked", "Revoke", "Revoked %d token(s) on deletion", len(ids))
	return nil
}

// dropRecorded removes a revoked token from status, so that a retried deletion does not count it again.
func (r *CloudflareTokenReconciler) dropRecorded(st *cfv1.CloudflareTokenStatus, id string) {
	if st.TokenID == id {
		st.TokenID = ""
	}
	kept := st.RetiringTokens[:0]
	for _, rt := range st.RetiringTokens {
		if rt.ID != id {
			kept = append(kept, rt)
		}
	}
	st.RetiringTokens = sortRetiring(kept)
}

// releaseSecret deletes the Secret (Revoke) or removes its owner reference so that it outlives the
// resource (Retain). A Secret that is not the operator's is left alone.
func (r *CloudflareTokenReconciler) releaseSecret(ctx context.Context, tok *cfv1.CloudflareToken) error {
	sec, err := readSecret(ctx, r.APIReader, tok)
	if err != nil || sec == nil || !ownsSecret(sec, tok) {
		return err
	}
	if tok.Spec.DeletionPolicy == cfv1.DeletionPolicyRetain {
		before := sec.DeepCopy()
		sec.OwnerReferences = nil
		if err := r.Patch(ctx, sec, client.MergeFrom(before)); err != nil {
			return fmt.Errorf("releasing Secret %s: %w", sec.Name, err)
		}
		return nil
	}
	if err := r.Delete(ctx, sec); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting Secret %s: %w", sec.Name, err)
	}
	return nil
}
