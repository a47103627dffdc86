package cloudflaretokens

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/failure"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
)

// recordIntent writes the status now, with an optimistic lock: it succeeds only if this pass started from
// the latest copy, so a pass on a stale cache stops before it mints or revokes.
func (r *Reconciler) recordIntent(ctx context.Context, p *tokenPass) error {
	if err := p.patch.Apply(ctx, r.Client, p.tok, client.MergeFromWithOptimisticLock{}); err != nil {
		return fmt.Errorf("recording intent: %w", err)
	}
	return nil
}

// finish maps the pass's outcome to conditions, failure counters and the next wake-up, then writes the
// status once. Conditions follow kstatus: Ready, Reconciling, Stalled.
func (r *Reconciler) finish(ctx context.Context, p *tokenPass, err error) (ctrl.Result, error) {
	tok, st := p.tok, &p.tok.Status
	var res ctrl.Result
	switch {
	case err == nil && !tok.DeletionTimestamp.IsZero():
		// Gone, or waiting for other finalizers.
		r.observer().TokenForgotten(tok.Namespace, tok.Name)
	case err == nil:
		st.FailedAttempts, st.LastFailureTime = 0, nil
		st.ObservedGeneration = tok.Generation
		r.setCondition(tok, cfv1.ConditionReady, metav1.ConditionTrue, "TokenReady", readyMessage(tok))
		r.setCondition(tok, cfv1.ConditionReconciling, metav1.ConditionFalse, "Succeeded", "")
		r.setCondition(tok, cfv1.ConditionStalled, metav1.ConditionFalse, "Succeeded", "")
		res.RequeueAfter = nextWake(st, r.Clock.Now(), r.DriftInterval)
		if st.ExpiresAt != nil && st.RenewalTime != nil {
			r.observer().TokenObserved(tok.Namespace, tok.Name, issuerclient.KeyOf(tok), timeOf(st.IssuedAt),
				timeOf(st.ExpiresAt), timeOf(st.RenewalTime))
		}
	case apierrors.IsConflict(err):
		// Someone wrote the resource since it was read: start over from the new copy, without counting it
		// as a failure.
		return ctrl.Result{RequeueAfter: time.Second}, nil
	default:
		res, err = r.failed(ctx, p, err)
	}
	if perr := p.patch.Apply(ctx, r.Client, tok); perr != nil && !apierrors.IsNotFound(perr) {
		return res, errors.Join(err, fmt.Errorf("writing status: %w", perr))
	}
	return res, err
}

// failed records a failure: refusals and permanent Cloudflare errors stall until something changes (or a
// long backoff passes); rate limits wait as long as asked; everything else backs off exponentially. The
// message says when the next attempt is.
func (r *Reconciler) failed(ctx context.Context, p *tokenPass, err error) (ctrl.Result, error) {
	tok, st := p.tok, &p.tok.Status
	st.FailedAttempts++
	st.LastFailureTime = timePtr(r.Clock.Now().Truncate(time.Second))
	v := failure.Judge(err, failureBackoff(st.FailedAttempts, string(tok.UID)))
	reason, msg := v.Reason, v.Message
	r.observer().Failed(issuerclient.KeyOf(tok), reason)
	if !v.Terminal {
		msg += "; next attempt at " + r.Clock.Now().Add(v.After).UTC().Format(time.RFC3339)
	}
	logf.FromContext(ctx).Info("reconcile failed", "reason", reason, "error", msg, "attempt", st.FailedAttempts)
	readyStatus := metav1.ConditionFalse
	if v.Refusal == nil && stillServing(tok, p.now) {
		// The recorded token is unexpired and was minted for this generation: consumers are likely fine
		// for now (this pass may have failed before it could check the Secret or Cloudflare's list).
		readyStatus = metav1.ConditionTrue
		msg = readyMessage(tok) + "; but: " + msg
	}
	r.setCondition(tok, cfv1.ConditionReady, readyStatus, reason, msg)
	switch {
	case v.Refusal != nil:
		r.setCondition(tok, cfv1.ConditionStalled, metav1.ConditionTrue, reason, v.Refusal.Message)
		r.setCondition(tok, cfv1.ConditionReconciling, metav1.ConditionFalse, reason, "")
	case v.Stalled:
		r.setCondition(tok, cfv1.ConditionStalled, metav1.ConditionTrue, reason, msg)
		r.setCondition(tok, cfv1.ConditionReconciling, metav1.ConditionFalse, reason, "")
	default:
		r.setCondition(tok, cfv1.ConditionStalled, metav1.ConditionFalse, reason, "")
		r.setCondition(tok, cfv1.ConditionReconciling, metav1.ConditionTrue, reason, msg)
	}
	if len(st.RetiringTokens) > 0 {
		// Replaced or withdrawn tokens are revoked on time whatever else fails.
		wake := max(time.Second, st.RetiringTokens[0].RevokeAt.Sub(r.Clock.Now()))
		if v.Terminal || wake < v.After {
			return ctrl.Result{RequeueAfter: wake}, nil
		}
	}
	if v.Terminal {
		// A change to the resource, its issuer or its namespace starts a new pass; nothing else can help.
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	return ctrl.Result{RequeueAfter: v.After}, nil
}

// stillServing is true while the recorded token is unexpired and status was last written Ready for the
// current generation. It reads status only: it proves neither that the Secret still holds the token nor
// that Cloudflare still lists it.
func stillServing(tok *cfv1.CloudflareToken, now time.Time) bool {
	st := &tok.Status
	return st.TokenID != "" && st.ExpiresAt != nil && now.Before(st.ExpiresAt.Time) &&
		st.ObservedGeneration == tok.Generation
}

func readyMessage(tok *cfv1.CloudflareToken) string {
	st := &tok.Status
	if st.ExpiresAt == nil {
		return fmt.Sprintf("Secret %s holds token %s", st.SecretName, st.TokenID)
	}
	return fmt.Sprintf("Secret %s holds token %s, expiring %s, renewed from %s", st.SecretName, st.TokenID,
		st.ExpiresAt.UTC().Format(time.RFC3339), st.RenewalTime.UTC().Format(time.RFC3339))
}

// setCondition sets a condition and, when the Ready condition changes its status or reason, emits one
// event: events mark transitions, not every pass.
func (r *Reconciler) setCondition(tok *cfv1.CloudflareToken, typ string, status metav1.ConditionStatus, reason, msg string) {
	old := meta.FindStatusCondition(tok.Status.Conditions, typ)
	changed := old == nil || old.Status != status || old.Reason != reason
	meta.SetStatusCondition(&tok.Status.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: tok.Generation})
	if typ == cfv1.ConditionReady && changed {
		kind := corev1.EventTypeNormal
		if status != metav1.ConditionTrue || reason != "TokenReady" {
			kind = corev1.EventTypeWarning
		}
		r.event(tok, kind, reason, "Reconcile", "%s", msg)
	}
}

func (r *Reconciler) event(obj *cfv1.CloudflareToken, kind, reason, action, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(obj, nil, kind, reason, action, format, args...)
	}
}

// timeOf is the time of t, or the zero time when t is nil.
func timeOf(t *metav1.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func isConditionTrue(tok *cfv1.CloudflareToken, typ string) bool {
	return meta.IsStatusConditionTrue(tok.Status.Conditions, typ)
}

// setPlainCondition sets a condition other than Ready, which emits no event of its own.
func setPlainCondition(tok *cfv1.CloudflareToken, typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&tok.Status.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: tok.Generation})
}
