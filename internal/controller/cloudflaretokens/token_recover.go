package cloudflaretokens

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/inventory"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/tokenname"
)

// recordedSerial is the serial of the token status records as current (0 for none).
func recordedSerial(st *cfv1.CloudflareTokenStatus) int64 {
	if n, ok := tokenname.Parse(st.TokenName); ok {
		return n.Serial
	}
	return 0
}

// hasUnrecordedAttempt is true when a mint was begun (its serial recorded) but its token never was: the
// manager died, or Cloudflare's answer was lost, between the two.
func hasUnrecordedAttempt(st *cfv1.CloudflareTokenStatus) bool {
	return st.Serial > recordedSerial(st)
}

// recoverUnrecordedTokens finds, by name, tokens of this resource that Cloudflare created but status does
// not record. One the Secret holds (the manager died after writing it) is adopted; the others' values are
// lost, so they are revoked before anything new is minted.
func (r *Reconciler) recoverUnrecordedTokens(ctx context.Context, p *tokenPass) error {
	st := &p.tok.Status
	if !hasUnrecordedAttempt(st) {
		return nil
	}
	// Fence: only a pass working from the latest copy may revoke anything.
	if err := r.recordIntent(ctx, p); err != nil {
		return err
	}
	mine, err := r.unrecordedTokens(ctx, p)
	if err != nil {
		return err
	}
	sec, err := readSecret(ctx, r.APIReader, p.tok)
	if err != nil {
		return err
	}
	for _, t := range mine {
		if holdsToken(sec, p.tok, t.ID) && inventory.IsLive(t, p.now) {
			r.adopt(p, t)
			continue
		}
		if err := p.conn.Revoke(ctx, r.Inventory, r.observer(), t.ID, "unrecorded"); err != nil {
			return fmt.Errorf("unrecorded token: %w", err)
		}
		r.event(p.tok, corev1.EventTypeNormal, "RevokedUnrecorded", "Revoke",
			"Revoked token %s (%s): Cloudflare created it but its value was never stored", t.ID, t.Name)
	}
	// Every attempt is accounted for: what was not adopted is gone, so its serial may be used again.
	st.Serial = recordedSerial(st)
	return nil
}

// unrecordedTokens lists the credential's tokens and keeps this resource's that status does not record.
func (r *Reconciler) unrecordedTokens(ctx context.Context, p *tokenPass) ([]cloudflare.Token, error) {
	all, err := r.Inventory.Sweep(ctx, p.conn.Key, p.conn.Client)
	if err != nil {
		return nil, fmt.Errorf("listing tokens to find unrecorded ones: %w", err)
	}
	known := p.tok.Status.RecordedTokenIDs()
	var out []cloudflare.Token
	for _, t := range all {
		n, ok := tokenname.Parse(t.Name)
		if ok && n.Cluster == r.ClusterHash && n.UID == p.tok.UID && !known[t.ID] {
			out = append(out, t)
		}
	}
	return out, nil
}

// adopt records a token found in the Secret as current, retiring the one status had.
func (r *Reconciler) adopt(p *tokenPass, t cloudflare.Token) {
	n, _ := tokenname.Parse(t.Name)
	issued := t.IssuedOn
	if issued.IsZero() {
		issued = p.now
	}
	recordCurrent(p, t.ID, n, p.now, issued, t.ExpiresOn)
	r.event(p.tok, corev1.EventTypeNormal, "Adopted", "Adopt", "Adopted token %s, which the Secret holds but status did not record", t.ID)
}
