package cloudflaretokens

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// Any status but active is dead: disabled, expired, revoked, "revoked (exposed)" for a token Cloudflare
// found leaked in public, and whatever Cloudflare adds later. The current token is replaced as soon as the
// shared list shows it (ensureLiveToken, within --drift-interval); the dead token it leaves among the retiring
// ones is deleted in the same pass, without a grace period: it serves no one and still holds quota.

// retireDeadTokens makes every retiring token that Cloudflare lists as dead (or that has expired) due now,
// and reports it. A token missing from the list is left to its grace period: the list may be partial (a
// parent that sees only the tokens it created), and "not listed" is no proof of death.
func (r *Reconciler) retireDeadTokens(ctx context.Context, p *tokenPass) error {
	st := &p.tok.Status
	for i := range st.RetiringTokens {
		rt := &st.RetiringTokens[i]
		if rt.Stranded || !p.now.Before(rt.RevokeAt.Time) {
			continue
		}
		status, dead := r.deadStatus(ctx, p, rt)
		if !dead {
			continue
		}
		rt.RevokeAt = metav1.NewTime(p.now.Truncate(time.Second))
		r.reportDeactivated(p, rt.ID, status)
	}
	r.clearDeactivated(p)
	return nil
}

// deadStatus is the status of a retiring token that Cloudflare lists as dead, from the owner's last list.
func (r *Reconciler) deadStatus(ctx context.Context, p *tokenPass, rt *cfv1.RetiringToken) (string, bool) {
	if rt.ExpiresAt != nil && !p.now.Before(rt.ExpiresAt.Time) {
		return cloudflare.StatusExpired, true
	}
	oc, err := r.clientForOrigin(ctx, p, rt.MintedBy)
	if err != nil || oc == nil {
		return "", false
	}
	t, listed := r.Inventory.Peek(oc.Key, rt.ID)
	if !listed || t.Status == cloudflare.StatusActive {
		return "", false
	}
	return t.Status, true
}

// reportDeactivated emits a Warning event and sets TokenDeactivated: for an exposed token a person must go
// and find the leak, or the next token leaks the same way.
func (r *Reconciler) reportDeactivated(p *tokenPass, id, status string) {
	reason, msg := deactivation(id, status)
	r.event(p.tok, corev1.EventTypeWarning, "TokenDeactivated", "Revoke", "%s", msg)
	// Removed first, so that a new deactivation gets a new transition time.
	meta.RemoveStatusCondition(&p.tok.Status.Conditions, cfv1.ConditionTokenDeactivated)
	setPlainCondition(p.tok, cfv1.ConditionTokenDeactivated, metav1.ConditionTrue, reason, msg)
}

// clearDeactivated turns TokenDeactivated False once a token was minted after it was set, for another reason.
func (r *Reconciler) clearDeactivated(p *tokenPass) {
	st := &p.tok.Status
	c := meta.FindStatusCondition(st.Conditions, cfv1.ConditionTokenDeactivated)
	if c == nil || c.Status != metav1.ConditionTrue || st.IssuedAt == nil || !st.IssuedAt.After(c.LastTransitionTime.Time) {
		return
	}
	setPlainCondition(p.tok, cfv1.ConditionTokenDeactivated, metav1.ConditionFalse, "Replaced",
		fmt.Sprintf("token %s, minted since, is active", st.TokenID))
}

// deactivation is the condition reason and the message for a token found dead with status.
func deactivation(id, status string) (reason, msg string) {
	const after = "; it was replaced, and is deleted now (a dead token serves no one and holds quota)"
	switch status {
	case cloudflare.StatusExposed:
		return "Exposed", fmt.Sprintf("token %s was deactivated by Cloudflare (exposed): its value was found leaked in "+
			"public. Find where it leaked (logs, repositories, images, tickets) before the new token leaks the same way%s", id, after)
	case cloudflare.StatusDisabled, cloudflare.StatusExpired:
		return camel(status), fmt.Sprintf("token %s is %s at Cloudflare%s", id, status, after)
	}
	return "UnknownStatus", fmt.Sprintf("token %s is no longer active at Cloudflare (status %q)%s", id, status, after)
}

// camel turns a status word into a condition reason ("disabled" -> "Disabled").
func camel(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
