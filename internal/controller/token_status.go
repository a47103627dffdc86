package controller

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
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// statusPatch remembers the status as read, so that one merge patch at the end writes what changed.
type statusPatch struct{ base *cfv1.CloudflareToken }

func newStatusPatch(tok *cfv1.CloudflareToken) *statusPatch {
	return &statusPatch{base: tok.DeepCopy()}
}

func (s *statusPatch) apply(ctx context.Context, c client.Client, tok *cfv1.CloudflareToken, opts ...client.MergeFromOption) error {
	patch := client.MergeFromWithOptions(s.base, opts...)
	if len(opts) == 0 {
		// A pass that changed nothing writes nothing: at hundreds of tokens, empty patches add up.
		if data, err := patch.Data(tok); err == nil && string(data) == "{}" {
			return nil
		}
	}
	if err := c.Status().Patch(ctx, tok, patch); err != nil {
		return err
	}
	s.base = tok.DeepCopy()
	return nil
}

// recordIntent writes the status now, with an optimistic lock: it succeeds only if this pass started from
// the latest copy, so a pass on a stale cache stops before it mints or revokes.
func (r *CloudflareTokenReconciler) recordIntent(ctx context.Context, p *tokenPass) error {
	if err := p.patch.apply(ctx, r.Client, p.tok, client.MergeFromWithOptimisticLock{}); err != nil {
		return fmt.Errorf("recording intent: %w", err)
	}
	return nil
}

// finish maps the pass's outcome to conditions, failure counters and the next wake-up, then writes the
// status once. Conditions follow kstatus: Ready, Reconciling, Stalled.
func (r *CloudflareTokenReconciler) finish(ctx context.Context, p *tokenPass, err error) (ctrl.Result, error) {
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
		res.RequeueAfter = nextWake(st, r.Now(), r.DriftInterval)
		if st.ExpiresAt != nil && st.RenewalTime != nil {
			r.observer().TokenObserved(tok.Namespace, tok.Name, issuerKeyOf(tok), timeOf(st.IssuedAt), timeOf(st.ExpiresAt), timeOf(st.RenewalTime))
		}
	case apierrors.IsConflict(err):
		// Someone wrote the resource since it was read: start over from the new copy, without counting it
		// as a failure.
		return ctrl.Result{RequeueAfter: time.Second}, nil
	default:
		res, err = r.failed(ctx, p, err)
	}
	if perr := p.patch.apply(ctx, r.Client, tok); perr != nil && !apierrors.IsNotFound(perr) {
		return res, errors.Join(err, fmt.Errorf("writing status: %w", perr))
	}
	return res, err
}

// failed records a failure: refusals and permanent Cloudflare errors stall until something changes (or a
// long backoff passes); rate limits wait as long as asked; everything else backs off exponentially. The
// message says when the next attempt is.
func (r *CloudflareTokenReconciler) failed(ctx context.Context, p *tokenPass, err error) (ctrl.Result, error) {
	tok, st := p.tok, &p.tok.Status
	st.FailedAttempts++
	st.LastFailureTime = timePtr(r.Now().Truncate(time.Second))
	reason, msg := failureReason(err), credentialAdvice(err)
	r.observer().Failed(issuerKeyOf(tok), reason)
	res, terminal := failureRequeue(err, failureBackoff(st.FailedAttempts, string(tok.UID)))
	if !terminal {
		msg += "; next attempt at " + r.Now().Add(res.RequeueAfter).UTC().Format(time.RFC3339)
	}
	logf.FromContext(ctx).Info("reconcile failed", "reason", reason, "error", msg, "attempt", st.FailedAttempts)
	ref, refused := asRefusal(err)
	readyStatus := metav1.ConditionFalse
	if !refused && stillServing(tok, p.now) {
		// The recorded token is unexpired and was minted for this generation: consumers are likely fine
		// for now (this pass may have failed before it could check the Secret or Cloudflare's list).
		readyStatus = metav1.ConditionTrue
		msg = readyMessage(tok) + "; but: " + msg
	}
	r.setCondition(tok, cfv1.ConditionReady, readyStatus, reason, msg)
	switch {
	case refused:
		r.setCondition(tok, cfv1.ConditionStalled, metav1.ConditionTrue, ref.Reason, ref.Message)
		r.setCondition(tok, cfv1.ConditionReconciling, metav1.ConditionFalse, ref.Reason, "")
	case cloudflare.IsPermanent(err):
		r.setCondition(tok, cfv1.ConditionStalled, metav1.ConditionTrue, reason, msg)
		r.setCondition(tok, cfv1.ConditionReconciling, metav1.ConditionFalse, reason, "")
	default:
		r.setCondition(tok, cfv1.ConditionStalled, metav1.ConditionFalse, reason, "")
		r.setCondition(tok, cfv1.ConditionReconciling, metav1.ConditionTrue, reason, msg)
	}
	if len(st.RetiringTokens) > 0 {
		// Replaced or withdrawn tokens are revoked on time whatever else fails.
		wake := max(time.Second, st.RetiringTokens[0].RevokeAt.Sub(r.Now()))
		if terminal || wake < res.RequeueAfter {
			return ctrl.Result{RequeueAfter: wake}, nil
		}
	}
	if terminal {
		// A change to the resource, its issuer or its namespace starts a new pass; nothing else can help.
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	return res, nil
}

// failureRequeue is when a failed pass runs again; terminal when only a change to what was declared can help.
func failureRequeue(err error, backoff time.Duration) (res ctrl.Result, terminal bool) {
	if ref, ok := asRefusal(err); ok {
		if ref.RetryAfter > 0 {
			// What would fix it is not watched (a foreign Secret is not in the cache): look again later.
			return ctrl.Result{RequeueAfter: max(backoff, ref.RetryAfter)}, false
		}
		return ctrl.Result{}, true
	}
	switch {
	case cloudflare.ClassOf(err) == cloudflare.ClassQuota:
		// Only a deletion frees a slot; asking again soon would only cost requests.
		return ctrl.Result{RequeueAfter: max(backoff, time.Minute)}, false
	case cloudflare.IsPermanent(err):
		return ctrl.Result{RequeueAfter: max(backoff, 5*time.Minute)}, false
	case cloudflare.RetryAfterOf(err) > 0:
		return ctrl.Result{RequeueAfter: cloudflare.RetryAfterOf(err) + backoff/5}, false
	}
	return ctrl.Result{RequeueAfter: backoff}, false
}

// stillServing is true while the recorded token is unexpired and status was last written Ready for the
// current generation. It reads status only: it proves neither that the Secret still holds the token nor
// that Cloudflare still lists it.
func stillServing(tok *cfv1.CloudflareToken, now time.Time) bool {
	st := &tok.Status
	return st.TokenID != "" && st.ExpiresAt != nil && now.Before(st.ExpiresAt.Time) &&
		st.ObservedGeneration == tok.Generation
}

// issuerKeyOf names the issuer a token refers to (IssuerKey).
func issuerKeyOf(tok *cfv1.CloudflareToken) string {
	return IssuerKey(tok.Spec.IssuerRef.Kind, tok.Namespace, tok.Spec.IssuerRef.Name)
}

func failureReason(err error) string {
	if ref, ok := asRefusal(err); ok {
		return ref.Reason
	}
	if c := cloudflare.ClassOf(err); c != "" {
		return string(c)
	}
	return "Error"
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
func (r *CloudflareTokenReconciler) setCondition(tok *cfv1.CloudflareToken, typ string, status metav1.ConditionStatus, reason, msg string) {
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

func (r *CloudflareTokenReconciler) event(obj *cfv1.CloudflareToken, kind, reason, action, format string, args ...any) {
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
