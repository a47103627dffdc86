package issuers

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
)

// checkHardening reads the verified parent token once (the verify answer carries no conditions) and sets
// CredentialHardened: Cloudflare advises a client IP filter and an expiry on a token that can create tokens,
// so that a leaked parent is useless elsewhere and for long. It is advice: Ready does not depend on it.
func (r *Reconciler) checkHardening(ctx context.Context, cl cloudflare.Client, iss *issuerclient.Issuer, info cloudflare.CredentialInfo) {
	st := iss.Status
	if info.ID == "" {
		// A Global API Key can carry neither measure; docs/cloudflare-credentials.md advises a token instead.
		meta.RemoveStatusCondition(&st.Conditions, cfv1.ConditionCredentialHardened)
		return
	}
	set := func(status metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: cfv1.ConditionCredentialHardened,
			Status: status, Reason: reason, Message: msg, ObservedGeneration: iss.Obj.GetGeneration()})
	}
	parent, err := cl.GetToken(ctx, info.ID)
	if err != nil {
		set(metav1.ConditionUnknown, "CheckFailed", fmt.Sprintf("reading the parent token's conditions: %v", err))
		return
	}
	var missing []string
	if len(parent.RequestIP.In) == 0 {
		missing = append(missing, "Client IP Address Filtering (only this cluster's egress addresses)")
	}
	if parent.ExpiresOn == nil && info.ExpiresOn == nil {
		missing = append(missing, "a TTL (an end date)")
	}
	if len(missing) > 0 {
		set(metav1.ConditionFalse, "NotHardened", fmt.Sprintf("the parent token %s can create tokens but has no %s; "+
			"Cloudflare advises both for such a token: edit it in the dashboard (docs/cloudflare-credentials.md, "+
			"\"Hardening the parent token\")", info.ID, strings.Join(missing, " and no ")))
		return
	}
	set(metav1.ConditionTrue, "Hardened", fmt.Sprintf("the parent token %s has a client IP filter and expires", info.ID))
}
