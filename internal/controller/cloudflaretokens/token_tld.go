package cloudflaretokens

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// blockedTLDs are the top-level domains whose DNS records Cloudflare will not edit through the API.
var blockedTLDs = []string{".cf", ".ga", ".gq", ".ml", ".tk"}

// tldList reads blockedTLDs as prose: ".cf, .ga, .gq, .ml and .tk".
func tldList() string {
	last := len(blockedTLDs) - 1
	return strings.Join(blockedTLDs[:last], ", ") + " and " + blockedTLDs[last]
}

// zonesOnBlockedTLDs are the declared zones (names) under a blocked TLD.
func zonesOnBlockedTLDs(spec *cfv1.CloudflareTokenSpec) []string {
	var out []string
	for _, p := range specPolicies(spec) {
		for _, z := range p.Zones {
			name := strings.ToLower(strings.TrimSuffix(z, "."))
			for _, tld := range blockedTLDs {
				if strings.HasSuffix(name, tld) {
					out = append(out, z)
				}
			}
		}
	}
	return out
}

// reportBlockedTLDs says, in a condition and once in a Warning event, that DNS-01 cannot work on these
// zones. It does not stop the mint: the token can still read the zone. The admission policy warned too.
func (r *Reconciler) reportBlockedTLDs(_ context.Context, p *tokenPass) error {
	tok := p.tok
	blocked := zonesOnBlockedTLDs(&tok.Spec)
	if len(blocked) == 0 {
		meta.RemoveStatusCondition(&tok.Status.Conditions, cfv1.ConditionDNSEditable)
		return nil
	}
	msg := fmt.Sprintf("spec.zones: Cloudflare refuses DNS record edits through the API for %s zones (%s); "+
		"the token is minted, but cert-manager DNS-01 will fail there", tldList(), strings.Join(blocked, ", "))
	old := meta.FindStatusCondition(tok.Status.Conditions, cfv1.ConditionDNSEditable)
	meta.SetStatusCondition(&tok.Status.Conditions, metav1.Condition{Type: cfv1.ConditionDNSEditable,
		Status: metav1.ConditionFalse, Reason: "BlockedTLD", Message: msg, ObservedGeneration: tok.Generation})
	if old == nil || old.Message != msg {
		r.event(tok, corev1.EventTypeWarning, "BlockedTLD", "Reconcile", "%s", msg)
	}
	return nil
}
