package cloudflaretokens

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/observe"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/tokenname"
)

// ensureLiveToken mints a token when the resource has none, or when the one it has must be replaced
// (renewal due, scope changed, rotation asked for, revoked out of band, Secret lost). The replaced token is
// kept valid for the grace period, so that the Secret never holds a dead token.
func (r *Reconciler) ensureLiveToken(ctx context.Context, p *tokenPass) error {
	facts, err := r.observeToken(ctx, p)
	if err != nil {
		return err
	}
	reason := mintReason(p.tok, facts, p.now)
	if reason == observe.MintNone {
		return nil
	}
	return r.mint(ctx, p, reason)
}

// observeToken gathers what the mint decision needs: the Secret, and the token's liveness from the
// shared inventory.
func (r *Reconciler) observeToken(ctx context.Context, p *tokenPass) (tokenFacts, error) {
	st := &p.tok.Status
	facts := tokenFacts{scopeHash: p.scope, live: true}
	if st.TokenID == "" {
		return facts, nil
	}
	if o, now := st.MintedBy, originOf(p.iss); o != nil && (o.Owner != now.Owner || o.AccountID != now.AccountID) {
		facts.ownerChanged = true
	}
	// From the API server: the cache holds Secrets' metadata only (secret_cache.go), not the value whose
	// digest holdsToken compares.
	sec, err := readSecret(ctx, r.APIReader, p.tok)
	if err != nil {
		return facts, err
	}
	facts.secretHoldsToken = holdsToken(sec, p.tok, st.TokenID)
	issuedAt := p.now
	if st.IssuedAt != nil {
		issuedAt = st.IssuedAt.Time
	}
	facts.live, err = r.Inventory.Live(ctx, p.conn.Key, p.conn.Client, st.TokenID, issuedAt)
	return facts, err
}

// mint creates the next token, writes it into the Secret, and retires the one it replaces.
func (r *Reconciler) mint(ctx context.Context, p *tokenPass, reason observe.MintReason) error {
	tok, st := p.tok, &p.tok.Status
	if err := r.ensureSecretIsOurs(ctx, tok); err != nil {
		return err
	}
	scope, err := resolveScope(ctx, p.conn.Client, tok, p.iss)
	if err != nil {
		return err
	}
	if err := ensureScopeWithinIssuer(tok, scope.zones, scope.groups, p.iss); err != nil {
		return err
	}
	if err := r.ensureRetiringRoom(ctx, p); err != nil {
		return err
	}
	unlock, err := r.ensureNamespaceLimit(ctx, p)
	if err != nil {
		return err
	}
	defer unlock()
	release, err := r.reserveQuota(ctx, p)
	if err != nil {
		return err
	}
	defer release()
	// Record the serial before Cloudflare creates anything: if the answer is lost or the manager dies
	// before the token is recorded, the next pass knows to look for it by name. The optimistic lock makes
	// this a fence: a pass working from a stale copy stops here, before minting twice.
	st.Serial++
	if err := r.recordIntent(ctx, p); err != nil {
		return err
	}
	name := tokenname.Name{Cluster: r.ClusterHash, UID: tok.UID, Serial: st.Serial}
	now := r.Clock.Now()
	expires := now.Add(tok.Spec.TTLOrDefault()).Truncate(time.Second)
	created, value, err := p.conn.Client.CreateToken(ctx, cloudflare.TokenSpec{
		Name: name.Format(tok.Namespace, tok.Name), Policies: scope.policies, ExpiresOn: &expires,
		RequestIP: cloudflare.RequestIP{In: cidrs(scope.sourceRanges.Allow), NotIn: cidrs(scope.sourceRanges.Deny)},
	})
	if err != nil {
		return fmt.Errorf("minting token %d: %w", st.Serial, err)
	}
	r.Inventory.Add(p.conn.Key, created)
	r.observer().Minted(p.iss.Key(), reason)
	if err := writeSecret(ctx, r.Client, r.APIReader, r.Scheme, tok, value, created.ID, expires); err != nil {
		// The value exists only in this function: a token that cannot be stored is revoked right away
		// (or, if that fails too, found by name on the next pass).
		r.revokeQuietly(ctx, p, created.ID)
		return err
	}
	rotated := st.TokenID != ""
	r.recordMinted(p, created, name, expires, scope, now, reason)
	if rotated {
		r.restartConsumers(ctx, p, now)
	}
	return nil
}

// recordCurrent retires the current token and records id, of the given name, minted through p.iss for the
// spec as it is now: what a mint and an adoption both record.
func recordCurrent(p *tokenPass, id string, n tokenname.Name, now, issued time.Time, expires *time.Time) {
	tok, st := p.tok, &p.tok.Status
	retireCurrent(tok, now)
	st.TokenID, st.TokenName, st.ScopeHash, st.MintedBy = id, n.Format(tok.Namespace, tok.Name), p.scope, originOf(p.iss)
	st.IssuedAt = timePtr(issued.Truncate(time.Second))
	if expires != nil {
		st.ExpiresAt = timePtr(*expires)
		st.RenewalTime = timePtr(renewalTime(*expires, tok.Spec.RenewBeforeOrDefault(), fmt.Sprintf("%s/%d", tok.UID, n.Serial)))
	}
	st.SecretName = secretName(tok)
	st.LastRotateRequest = tok.Annotations[cfv1.AnnotationRotate]
}

// recordMinted moves the current token to the retiring list and records the new one.
func (r *Reconciler) recordMinted(p *tokenPass, created cloudflare.Token, name tokenname.Name, expires time.Time,
	scope *desiredScope, now time.Time, reason observe.MintReason) {
	tok, st := p.tok, &p.tok.Status
	old := st.TokenID
	recordCurrent(p, created.ID, name, now, now, &expires)
	st.Zones, st.PermissionGroups = scope.zones, scope.groups
	if old == "" {
		r.event(tok, corev1.EventTypeNormal, "Minted", "Mint", "Minted token %s into Secret %s, expiring %s",
			created.ID, secretName(tok), expires.Format(time.RFC3339))
	} else {
		r.event(tok, corev1.EventTypeNormal, "Rotated", "Rotate", "Replaced token %s by %s (%s); the old one is revoked after %s",
			old, created.ID, reason, tok.Spec.RotationGracePeriodOrDefault())
	}
}

// rotationHeadroom is how many of the quota's tokens first mints leave free, so that rotations, which
// briefly hold two tokens, still fit: one in fifty.
func rotationHeadroom(quota int) int { return max(1, quota/50) }

// reserveQuota keeps the owner under Cloudflare's token quota without asking Cloudflare: a first mint
// leaves headroom so that existing tokens can still rotate (a rotation briefly holds two), and a mint
// that would go over waits with reason QuotaExceeded instead of failing calls.
func (r *Reconciler) reserveQuota(ctx context.Context, p *tokenPass) (func(), error) {
	quota := p.iss.Quota()
	limit := quota
	if p.tok.Status.TokenID == "" {
		limit -= rotationHeadroom(quota)
	}
	release, held, err := r.Inventory.Reserve(ctx, p.conn.Key, p.conn.Client, limit)
	if err != nil {
		return nil, fmt.Errorf("counting tokens against the quota: %w", err)
	}
	if release == nil {
		return nil, &cloudflare.Error{Class: cloudflare.ClassQuota, Op: cloudflare.OpReserveToken,
			Message: fmt.Sprintf("%s's owner holds %d of its %d tokens (%d kept free for rotations); delete unused tokens or use another issuer",
				p.iss.Key(), held, quota, quota-limit)}
	}
	return release, nil
}

// ensureSecretIsOurs reads the Secret around the cache (which holds only the operator's Secrets) so that
// a foreign Secret of the same name is found before a token is minted that could not be stored.
func (r *Reconciler) ensureSecretIsOurs(ctx context.Context, tok *cfv1.CloudflareToken) error {
	sec, err := readSecret(ctx, r.APIReader, tok)
	if err != nil || sec == nil {
		return err
	}
	if !ownsSecret(sec, tok) {
		return foreignSecret(tok)
	}
	return nil
}

// revokeQuietly revokes a token the operator could not record; failure is left to the next pass's recovery.
func (r *Reconciler) revokeQuietly(ctx context.Context, p *tokenPass, id string) {
	_ = p.conn.Revoke(ctx, r.Inventory, r.observer(), id, "unrecorded")
}

func cidrs(in []cfv1.CIDR) []string {
	out := make([]string, 0, len(in))
	for _, c := range in {
		out = append(out, string(c))
	}
	return out
}

func timePtr(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t)
	return &mt
}
