package cloudflaretokens

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/statuspatch"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/tokenname"
)

// ensureFinalizer makes sure the resource cannot go before its tokens are revoked.
func (r *Reconciler) ensureFinalizer(ctx context.Context, p *tokenPass) error {
	if controllerutil.ContainsFinalizer(p.tok, cfv1.FinalizerRevokeTokens) {
		return nil
	}
	before := p.tok.DeepCopy()
	controllerutil.AddFinalizer(p.tok, cfv1.FinalizerRevokeTokens)
	if err := r.Patch(ctx, p.tok, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("adding finalizer: %w", err)
	}
	// The status patch's optimistic lock checks the resourceVersion of its base: take the base again from
	// this write (nothing in status has changed yet: this is the first step), or the pass's own intent record
	// would conflict with it (and every first mint wait a requeue).
	p.patch = statuspatch.New(p.tok)
	return nil
}

// reconcileDelete revokes every token of the resource (deletionPolicy Revoke) or hands the current one and
// its Secret over to the user (Retain), then lets the resource go. A revocation that fails keeps the
// finalizer and is retried with backoff; it is never dropped.
func (r *Reconciler) reconcileDelete(ctx context.Context, p *tokenPass) error {
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

func (r *Reconciler) revokeForDeletion(ctx context.Context, p *tokenPass) error {
	if err := r.recoverForDeletion(ctx, p); err != nil {
		return err
	}
	st := &p.tok.Status
	var errs []error
	var count int
	for _, rt := range slices.Clone(st.RetiringTokens) {
		done, err := r.revokeOnDeletion(ctx, p, rt.ID, rt.MintedBy)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		count += done
		r.dropRecorded(st, rt.ID)
	}
	if st.TokenID != "" {
		var done int
		var err error
		if p.tok.Spec.DeletionPolicy == cfv1.DeletionPolicyRetain {
			err = r.retainCurrent(ctx, p)
		} else {
			done, err = r.revokeOnDeletion(ctx, p, st.TokenID, st.MintedBy)
		}
		if err != nil {
			errs = append(errs, err)
		} else {
			count += done
			r.dropRecorded(st, st.TokenID)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if count > 0 {
		r.event(p.tok, corev1.EventTypeNormal, "Revoked", "Revoke", "Revoked %d token(s) on deletion", count)
	}
	return nil
}

// recoverForDeletion revokes tokens of an unfinished mint (found by name through the issuer the resource
// names) before the resource goes: nothing else would ever find them.
func (r *Reconciler) recoverForDeletion(ctx context.Context, p *tokenPass) error {
	if !hasUnrecordedAttempt(&p.tok.Status) {
		return nil
	}
	iss, err := r.Issuers.Load(ctx, p.tok.Spec.IssuerRef, p.tok.Namespace)
	if err != nil {
		return fmt.Errorf("cannot look for the tokens of an unfinished mint without the issuer (restore it, or remove "+
			"finalizer %s by hand and revoke the tokens in the dashboard): %w", cfv1.FinalizerRevokeTokens, err)
	}
	if p.conn, err = r.Issuers.Connect(ctx, iss); err != nil {
		return err
	}
	p.iss = iss
	return r.recoverUnrecordedTokens(ctx, p)
}

// revokeOnDeletion revokes one recorded token through its origin and says how many were revoked. A token
// nothing can revoke any more does not hold the deletion up: a Warning event names it for a person.
func (r *Reconciler) revokeOnDeletion(ctx context.Context, p *tokenPass, id string, o *cfv1.TokenOrigin) (int, error) {
	outcome, err := r.revokeRecorded(ctx, p, id, o, "deletion")
	switch {
	case err != nil:
		return 0, err
	case outcome == stranded:
		r.event(p.tok, corev1.EventTypeWarning, "TokensStranded", "Revoke", "Token %s cannot be revoked: the issuer or "+
			"credential that minted it is gone or no longer sees it; revoke it in Cloudflare's dashboard", id)
		return 0, nil
	case outcome == notOurs:
		return 0, nil
	}
	return 1, nil
}

// retainCurrent hands the current token over for good (deletionPolicy Retain): it is renamed at Cloudflare so
// that its name no longer carries this cluster's mark. Nothing in memory or in the cluster has to remember
// it: no sweep, drift check or restart can ever take it for one of the operator's tokens again.
func (r *Reconciler) retainCurrent(ctx context.Context, p *tokenPass) error {
	st := &p.tok.Status
	oc, err := r.clientForOrigin(ctx, p, st.MintedBy)
	if err != nil {
		return err
	}
	if oc == nil {
		return nil // its issuer is gone: nothing can revoke it, so nothing will
	}
	name := tokenname.Retained(st.TokenName)
	if err := oc.Client.RenameToken(ctx, st.TokenID, name); err != nil && cloudflare.ClassOf(err) != cloudflare.ClassNotFound {
		return fmt.Errorf("handing over retained token %s: %w", st.TokenID, err)
	}
	r.Inventory.Forget(oc.Key, st.TokenID)
	r.event(p.tok, corev1.EventTypeNormal, "Retained", "Retain", "Token %s stays valid until it expires, renamed %q; "+
		"the operator will never revoke it", st.TokenID, name)
	return nil
}

// dropRecorded removes a revoked token from status, so that a retried deletion does not count it again.
func (r *Reconciler) dropRecorded(st *cfv1.CloudflareTokenStatus, id string) {
	if st.TokenID == id {
		st.TokenID, st.MintedBy = "", nil
	}
	st.RetiringTokens = sortRetiring(slices.DeleteFunc(st.RetiringTokens, func(rt cfv1.RetiringToken) bool { return rt.ID == id }))
}

// releaseSecret deletes the Secret (Revoke) or removes its owner reference so that it outlives the
// resource (Retain). A Secret that is not the operator's is left alone.
func (r *Reconciler) releaseSecret(ctx context.Context, tok *cfv1.CloudflareToken) error {
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
