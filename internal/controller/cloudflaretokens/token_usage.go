package cloudflaretokens

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/observe"
)

// maxSwitchTolerance bounds how long after the switch a use of the old token is taken for a consumer that
// has not yet reloaded (kubelet refreshes mounted Secrets within about a minute) rather than one that never
// will. With a shorter grace period, half of it.
const maxSwitchTolerance = time.Minute

// recordUsage copies Cloudflare's last_used_on of the current and the retiring tokens into status, from the
// owner's list the drift check already holds (no request of its own), and warns once per retiring token
// that a consumer still used after the Secret switched: its revocation will break that consumer.
func (r *Reconciler) recordUsage(ctx context.Context, p *tokenPass) error {
	st := &p.tok.Status
	if st.TokenID != "" && p.iss != nil {
		if t, listed := r.Inventory.Peek(p.conn.Key, st.TokenID); listed {
			st.LastUsedAt = later(st.LastUsedAt, t.LastUsedOn)
		}
	}
	tolerance := min(p.tok.Spec.RotationGracePeriodOrDefault()/2, maxSwitchTolerance)
	for i := range st.RetiringTokens {
		rt := &st.RetiringTokens[i]
		oc, err := r.clientForOrigin(ctx, p, rt.MintedBy)
		if rt.Stranded || err != nil || oc == nil {
			continue
		}
		t, listed := r.Inventory.Peek(oc.Key, rt.ID)
		if !listed {
			continue
		}
		before := rt.LastUsedAt
		rt.LastUsedAt = later(rt.LastUsedAt, t.LastUsedOn)
		if usedAfterSwitch(rt.LastUsedAt, rt.ReplacedAt, tolerance) && !usedAfterSwitch(before, rt.ReplacedAt, tolerance) {
			r.warnOldTokenUsed(p, rt)
		}
	}
	return nil
}

func (r *Reconciler) warnOldTokenUsed(p *tokenPass, rt *cfv1.RetiringToken) {
	r.event(p.tok, corev1.EventTypeWarning, "ConsumerStillUsesOldToken", "Rotate",
		"Token %s, replaced in Secret %s at %s, was used at %s: a consumer still holds the old value and breaks when "+
			"it is revoked at %s; make it reload the Secret (spec.secret.restartDeployments restarts Deployments on rotation)",
		rt.ID, secretName(p.tok), rt.ReplacedAt.UTC().Format(time.RFC3339), rt.LastUsedAt.UTC().Format(time.RFC3339),
		rt.RevokeAt.UTC().Format(time.RFC3339))
	if o, ok := r.observer().(observe.UsageObserver); ok {
		o.ConsumerStillUsesOldToken(p.tok.Namespace, p.tok.Name, issuerclient.KeyOf(p.tok))
	}
}

// usedAfterSwitch: the token was used more than tolerance after the Secret stopped holding it.
func usedAfterSwitch(used, replaced *metav1.Time, tolerance time.Duration) bool {
	return used != nil && replaced != nil && used.After(replaced.Add(tolerance))
}

// later is the later of a recorded time and one Cloudflare reports (a use is never forgotten).
func later(recorded *metav1.Time, reported *time.Time) *metav1.Time {
	if reported == nil || (recorded != nil && !reported.After(recorded.Time)) {
		return recorded
	}
	return timePtr(reported.UTC())
}
