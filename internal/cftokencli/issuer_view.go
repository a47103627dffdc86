package cftokencli

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// issuerRow is what the plugin shows of an issuer: its state and its bounds.
type issuerRow struct {
	Kind                string                 `json:"kind"`
	Namespace           string                 `json:"namespace,omitempty"`
	Name                string                 `json:"name"`
	Ready               metav1.ConditionStatus `json:"ready"`
	Reason              string                 `json:"reason,omitempty"`
	Message             string                 `json:"message,omitempty"`
	TokenOwner          string                 `json:"tokenOwner,omitempty"`
	AccountID           string                 `json:"accountID,omitempty"`
	TokensHeld          *int32                 `json:"tokensHeld,omitempty"`
	TokenQuota          int32                  `json:"tokenQuota,omitempty"`
	CredentialExpiresAt *metav1.Time           `json:"credentialExpiresAt,omitempty"`
	LastVerifiedAt      *metav1.Time           `json:"lastVerifiedAt,omitempty"`
	AllowedZones        []string               `json:"allowedZones,omitempty"`
	AllowedPermissions  []string               `json:"allowedPermissions,omitempty"`
	MaxTTL              string                 `json:"maxTTL,omitempty"`
	MaxTokensPerNS      *int32                 `json:"maxTokensPerNamespace,omitempty"`
	DefaultSourceRanges *cfv1.SourceRanges     `json:"defaultSourceRanges,omitempty"`
	NamespaceSelector   *metav1.LabelSelector  `json:"namespaceSelector,omitempty"`
	// Status is the issuer's status as the server sent it, fields unknown to this plugin included.
	Status map[string]any `json:"status,omitempty"`
}

func issuerRowOf(i *issuerObject) issuerRow {
	ready := readyOf(i.Status.Conditions)
	r := issuerRow{
		Kind: i.Kind, Namespace: i.Namespace, Name: i.Name,
		Ready: ready.Status, Reason: ready.Reason, Message: ready.Message,
		TokenOwner: string(i.Spec.TokenOwner), AccountID: i.Spec.AccountID,
		TokensHeld: i.Status.TokensHeld, TokenQuota: i.Status.TokenQuota,
		CredentialExpiresAt: i.Status.CredentialExpiresAt, LastVerifiedAt: i.Status.LastVerifiedAt,
		AllowedZones: i.Spec.AllowedZones, AllowedPermissions: i.Spec.AllowedPermissions,
		MaxTokensPerNS:      i.Spec.MaxTokensPerNamespace,
		DefaultSourceRanges: i.Spec.DefaultSourceRanges, NamespaceSelector: i.NamespaceSelector,
		Status: i.rawStatus,
	}
	if i.Spec.MaxTTL != nil {
		r.MaxTTL = shortDuration(i.Spec.MaxTTL.Duration)
	}
	return r
}

// tokens is "3/50", "?/50" before the first count, or "".
func (r issuerRow) tokens() string {
	held := "?"
	if r.TokensHeld != nil {
		held = fmt.Sprint(*r.TokensHeld)
	}
	if r.TokenQuota == 0 && r.TokensHeld == nil {
		return ""
	}
	return held + "/" + fmt.Sprint(r.TokenQuota)
}

// credentialExpiry says when the parent credential expires: "never" when Cloudflare verified it and
// reported no expiry, "" when that is not known.
func (r issuerRow) credentialExpiry(now time.Time) string {
	if r.CredentialExpiresAt != nil {
		return relative(r.CredentialExpiresAt, now)
	}
	if r.Ready == metav1.ConditionTrue && r.LastVerifiedAt != nil {
		return "never"
	}
	return ""
}

// bounds summarises what the issuer allows: "zones example.com; permissions Zone Read,DNS Write; maxTTL 2160h;
// 10 per namespace".
func (r issuerRow) bounds() string {
	parts := []string{"zones " + allowList(r.AllowedZones), "permissions " + allowList(r.AllowedPermissions)}
	if r.MaxTTL != "" {
		parts = append(parts, "maxTTL "+r.MaxTTL)
	}
	if r.MaxTokensPerNS != nil {
		parts = append(parts, fmt.Sprintf("%d per namespace", *r.MaxTokensPerNS))
	}
	return strings.Join(parts, "; ")
}

// allowList shows an allow-list; an empty one allows nothing (issuers fail closed).
func allowList(items []string) string {
	if len(items) == 0 {
		return "(none)"
	}
	return listOf(items, 3)
}

// summary is the issuer in one line, for the story of a token.
func (r issuerRow) summary(now time.Time) string {
	s := fmt.Sprintf("Ready %s", r.Ready)
	if r.Ready != metav1.ConditionTrue {
		s += fmt.Sprintf(" (%s: %s)", r.Reason, r.Message)
	}
	if t := r.tokens(); t != "" {
		s += ", tokens held " + t
	}
	if e := r.credentialExpiry(now); e != "" {
		s += ", credential expires " + e
	}
	return s
}
