package cloudflaretokens

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// maxRetiring bounds the replaced tokens a resource keeps valid at once: each rotate request mints while
// the replaced token waits out its grace period, so without a bound one tenant could hold the owner's whole
// quota with rotate requests. A further rotation revokes the oldest retiring token first.
const maxRetiring = 2

// retireCurrent moves the current token to the retiring list, to be revoked after the grace period.
func retireCurrent(tok *cfv1.CloudflareToken, now time.Time) {
	st := &tok.Status
	if st.TokenID == "" {
		return
	}
	st.RetiringTokens = sortRetiring(append(st.RetiringTokens, cfv1.RetiringToken{
		ID:         st.TokenID,
		RevokeAt:   metav1.NewTime(now.Add(tok.Spec.RotationGracePeriodOrDefault()).Truncate(time.Second)),
		ExpiresAt:  st.ExpiresAt,
		MintedBy:   st.MintedBy,
		ReplacedAt: timePtr(now.Truncate(time.Second)),
		LastUsedAt: st.LastUsedAt,
	}))
	st.TokenID, st.MintedBy, st.LastUsedAt = "", nil, nil
}

// retireReplacedTokens revokes replaced tokens whose grace period is over. One that cannot be revoked
// stays in the list and is tried again with backoff: a revocation is never dropped.
func (r *Reconciler) retireReplacedTokens(ctx context.Context, p *tokenPass) error {
	due, waiting := retiringDue(p.tok.Status.RetiringTokens, p.now)
	kept, err := r.revokeRetiring(ctx, p, due, "rotation", "after its grace period")
	p.tok.Status.RetiringTokens = sortRetiring(append(waiting, kept...))
	r.reportStranded(p)
	return err
}

// ensureRetiringRoom makes room for one more retiring token before a mint, revoking the oldest ones early.
func (r *Reconciler) ensureRetiringRoom(ctx context.Context, p *tokenPass) error {
	st := &p.tok.Status
	if st.TokenID == "" || len(st.RetiringTokens) < maxRetiring {
		return nil
	}
	all := sortRetiring(st.RetiringTokens)
	n := len(all) - maxRetiring + 1
	kept, err := r.revokeRetiring(ctx, p, all[:n], "rotation",
		fmt.Sprintf("early: at most %d replaced tokens stay valid per resource", maxRetiring))
	st.RetiringTokens = sortRetiring(append(all[n:], kept...))
	return err
}

// revokeRetiring revokes the given retiring tokens through their origins and returns those still to keep:
// failed ones (retried with backoff), and stranded ones until they expire (looked at again each drift
// interval, in case their issuer comes back).
func (r *Reconciler) revokeRetiring(ctx context.Context, p *tokenPass, due []cfv1.RetiringToken,
	why, when string) (kept []cfv1.RetiringToken, err error) {
	var errs []string
	for _, rt := range due {
		outcome, err := r.revokeRecorded(ctx, p, rt.ID, rt.MintedBy, why)
		switch {
		case err != nil:
			errs = append(errs, err.Error())
			kept = append(kept, rt)
		case outcome == revoked:
			r.event(p.tok, corev1.EventTypeNormal, "Revoked", "Revoke", "Revoked replaced token %s %s", rt.ID, when)
		case outcome == notOurs:
			r.event(p.tok, corev1.EventTypeWarning, "NotRevoked", "Revoke",
				"Did not revoke token %s: Cloudflare names it as another resource's token (status edited by hand?)", rt.ID)
		case rt.ExpiresAt == nil || p.now.Before(rt.ExpiresAt.Time):
			rt.RevokeAt, rt.Stranded = metav1.NewTime(p.now.Add(r.DriftInterval).Truncate(time.Second)), true
			kept = append(kept, rt)
		}
	}
	if len(errs) > 0 {
		return kept, errors.New(strings.Join(errs, "; "))
	}
	return kept, nil
}

// reportStranded sets the TokensStranded condition (and one Warning event when it turns True): a token the
// operator can no longer revoke must be revoked by a person in Cloudflare's dashboard.
func (r *Reconciler) reportStranded(p *tokenPass) {
	var ids []string
	for _, rt := range p.tok.Status.RetiringTokens {
		if rt.Stranded {
			ids = append(ids, rt.ID)
		}
	}
	if len(ids) == 0 {
		if isConditionTrue(p.tok, cfv1.ConditionTokensStranded) {
			setPlainCondition(p.tok, cfv1.ConditionTokensStranded, metav1.ConditionFalse, "NoneStranded", "")
		}
		return
	}
	msg := fmt.Sprintf("token(s) %s cannot be revoked: the issuer or credential that minted them is gone or "+
		"no longer sees them; revoke them in Cloudflare's dashboard (they stay listed here until they expire)",
		strings.Join(ids, ", "))
	if !isConditionTrue(p.tok, cfv1.ConditionTokensStranded) {
		r.event(p.tok, corev1.EventTypeWarning, "TokensStranded", "Revoke", "%s", msg)
	}
	setPlainCondition(p.tok, cfv1.ConditionTokensStranded, metav1.ConditionTrue, "RevocationImpossible", msg)
}

func sortRetiring(in []cfv1.RetiringToken) []cfv1.RetiringToken {
	if len(in) == 0 {
		return nil
	}
	slices.SortFunc(in, func(a, b cfv1.RetiringToken) int { return a.RevokeAt.Compare(b.RevokeAt.Time) })
	return in
}
