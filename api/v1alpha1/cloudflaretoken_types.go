package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IssuerRef names the issuer a CloudflareToken is minted through.
type IssuerRef struct {
	// kind is TokenIssuer (same namespace as the CloudflareToken) or ClusterTokenIssuer.
	// +kubebuilder:validation:Enum=TokenIssuer;ClusterTokenIssuer
	Kind string `json:"kind"`
	// name of the issuer.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// PolicyEffect is allow or deny.
// +kubebuilder:validation:Enum=allow;deny
type PolicyEffect string

// Policy is one token policy, for scopes that zones + permissions cannot say.
// +kubebuilder:validation:XValidation:rule="(has(self.zones) && size(self.zones) > 0) != (has(self.account) && self.account)",message="a policy names either zones or account: true"
type Policy struct {
	// effect: allow (default) or deny. Cloudflare evaluates deny before allow.
	// +optional
	// +kubebuilder:default=allow
	Effect PolicyEffect `json:"effect,omitempty"`
	// permissions are permission group names or ids.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=128
	// +listType=set
	Permissions []string `json:"permissions"`
	// zones are zone names or ids the policy applies to (zone-scoped permissions).
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	Zones []string `json:"zones,omitempty"`
	// account: the policy applies to the issuer's account (account-scoped permissions).
	// +optional
	Account bool `json:"account,omitempty"`
}

// DeletionPolicy says what happens to the minted token when the CloudflareToken is deleted.
// +kubebuilder:validation:Enum=Revoke;Retain
type DeletionPolicy string

const (
	// DeletionPolicyRevoke deletes every token of the resource at Cloudflare, and the Secret.
	DeletionPolicyRevoke DeletionPolicy = "Revoke"
	// DeletionPolicyRetain keeps the token valid and the Secret, without its owner reference.
	DeletionPolicyRetain DeletionPolicy = "Retain"
)

// SecretTemplate shapes the Secret the token is written to.
type SecretTemplate struct {
	// name of the Secret, in the CloudflareToken's namespace. Defaults to the CloudflareToken's name.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name,omitempty"`
	// key the token value is written under. Default "api-token", which cert-manager's apiTokenSecretRef
	// reads.
	// +optional
	// +kubebuilder:default=api-token
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
	// labels added to the Secret (the operator's own labels win).
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// annotations added to the Secret (the operator's own annotations win).
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// CloudflareTokenSpec declares the token a team needs.
// +kubebuilder:validation:XValidation:rule="!(has(self.policies) && (has(self.zones) || has(self.permissions)))",message="spec.policies is exclusive with spec.zones and spec.permissions"
// +kubebuilder:validation:XValidation:rule="has(self.policies) || has(self.permissions)",message="one of spec.permissions or spec.policies is required"
// +kubebuilder:validation:XValidation:rule="duration(self.ttl) > duration('0s') && duration(self.ttl) <= duration('8760h')",fieldPath=".ttl",message="spec.ttl must be greater than 0 and at most 8760h"
// +kubebuilder:validation:XValidation:rule="!has(self.renewBefore) || (duration(self.renewBefore) > duration('0s') && duration(self.renewBefore) < duration(self.ttl))",fieldPath=".renewBefore",message="spec.renewBefore must be greater than 0 and less than spec.ttl"
// +kubebuilder:validation:XValidation:rule="has(self.renewBefore) ? duration(self.rotationGracePeriod) < duration(self.renewBefore) : duration(self.rotationGracePeriod).getSeconds() * 3 < duration(self.ttl).getSeconds()",fieldPath=".rotationGracePeriod",message="spec.rotationGracePeriod must be less than spec.renewBefore (default: one third of spec.ttl)"
type CloudflareTokenSpec struct {
	// issuerRef names the TokenIssuer or ClusterTokenIssuer that mints this token.
	IssuerRef IssuerRef `json:"issuerRef"`
	// zones the token may act on, by name or id. Zone-scoped permissions apply to these zones. Example:
	// ["example.com"].
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	Zones []string `json:"zones,omitempty"`
	// permissions are permission group names (or ids), as the API names them: "Zone Read", "DNS Write"
	// (the dashboard's "Edit" is the API's "Write"). Zone-scoped ones apply to spec.zones, account-scoped
	// ones to the issuer's account. Exclusive with policies.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	Permissions []string `json:"permissions,omitempty"`
	// policies spell out the token's policies for scopes zones + permissions cannot say (deny rules,
	// different permissions on different zones). Exclusive with zones and permissions.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Policies []Policy `json:"policies,omitempty"`
	// ttl is how long each minted token lives. Default 168h; at most 8760h.
	// +optional
	// +kubebuilder:default="168h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms|us|ns))+$`
	TTL *metav1.Duration `json:"ttl,omitempty"`
	// renewBefore is how long before expiry the token is replaced. Default: one third of ttl.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms|us|ns))+$`
	RenewBefore *metav1.Duration `json:"renewBefore,omitempty"`
	// sourceRanges restrict where the token may be used from (Cloudflare's request_ip condition). Unset:
	// the issuer's defaultSourceRanges.
	// +optional
	SourceRanges *SourceRanges `json:"sourceRanges,omitempty"`
	// rotationGracePeriod is how long a replaced token stays valid after the Secret holds its successor,
	// so that consumers can pick up the new value. Default 5m; "0s" revokes right away.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms|us|ns))+$`
	RotationGracePeriod *metav1.Duration `json:"rotationGracePeriod,omitempty"`
	// deletionPolicy: Revoke (default) deletes the token at Cloudflare and the Secret when this resource
	// is deleted; Retain keeps both.
	// +optional
	// +kubebuilder:default=Revoke
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
	// secret shapes the Secret the token is written to.
	// +optional
	// +kubebuilder:default={}
	Secret SecretTemplate `json:"secret,omitempty"`
}

// Defaults the schema applies; the accessors below fall back to them for objects that were never
// admitted (unit tests, dry runs).
const (
	DefaultTTL                 = 168 * time.Hour
	DefaultRotationGracePeriod = 5 * time.Minute
)

// TTLOrDefault is spec.ttl, or its default.
func (s *CloudflareTokenSpec) TTLOrDefault() time.Duration {
	if s.TTL == nil {
		return DefaultTTL
	}
	return s.TTL.Duration
}

// RotationGracePeriodOrDefault is spec.rotationGracePeriod, or its default.
func (s *CloudflareTokenSpec) RotationGracePeriodOrDefault() time.Duration {
	if s.RotationGracePeriod == nil {
		return DefaultRotationGracePeriod
	}
	return s.RotationGracePeriod.Duration
}

// RenewBeforeOrDefault is spec.renewBefore, or one third of the ttl.
func (s *CloudflareTokenSpec) RenewBeforeOrDefault() time.Duration {
	if s.RenewBefore != nil {
		return s.RenewBefore.Duration
	}
	return s.TTLOrDefault() / 3
}

// ResolvedZone is a zone the token covers.
type ResolvedZone struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// ResolvedPermissionGroup is a permission group the token carries.
type ResolvedPermissionGroup struct {
	Name  string `json:"name"`
	ID    string `json:"id"`
	Scope string `json:"scope,omitempty"`
}

// RetiringToken is a replaced token that is revoked once its grace period ends.
type RetiringToken struct {
	// id of the token at Cloudflare.
	ID string `json:"id"`
	// revokeAt is when the operator revokes it.
	RevokeAt metav1.Time `json:"revokeAt"`
}

// CloudflareTokenStatus is the observed state of a CloudflareToken.
type CloudflareTokenStatus struct {
	// conditions: Ready is True when the Secret holds a live token of the declared scope.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// observedGeneration is the generation last reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// tokenID is the id of the token the Secret holds.
	// +optional
	TokenID string `json:"tokenID,omitempty"`
	// tokenName is its name at Cloudflare.
	// +optional
	TokenName string `json:"tokenName,omitempty"`
	// serial counts the tokens minted for this resource; it is part of each token's name.
	// +optional
	Serial int64 `json:"serial,omitempty"`
	// issuedAt is when the current token was minted.
	// +optional
	IssuedAt *metav1.Time `json:"issuedAt,omitempty"`
	// expiresAt is when the current token expires.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
	// renewalTime is when the current token will be replaced.
	// +optional
	RenewalTime *metav1.Time `json:"renewalTime,omitempty"`
	// scopeHash identifies the scope (zones, permissions, source ranges, ttl) the current token was
	// minted for; a change of scope rotates the token.
	// +optional
	ScopeHash string `json:"scopeHash,omitempty"`
	// zones the current token covers, with their ids.
	// +optional
	Zones []ResolvedZone `json:"zones,omitempty"`
	// permissionGroups the current token carries, with their ids.
	// +optional
	PermissionGroups []ResolvedPermissionGroup `json:"permissionGroups,omitempty"`
	// secretName is the Secret that holds the token.
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// retiringTokens are replaced tokens waiting for their grace period to end.
	// +optional
	RetiringTokens []RetiringToken `json:"retiringTokens,omitempty"`
	// lastRotateRequest is the value of the rotate annotation last handled.
	// +optional
	LastRotateRequest string `json:"lastRotateRequest,omitempty"`
	// lastFailureTime is when the last attempt failed; failures back off exponentially.
	// +optional
	LastFailureTime *metav1.Time `json:"lastFailureTime,omitempty"`
	// failedAttempts counts consecutive failed attempts.
	// +optional
	FailedAttempts int32 `json:"failedAttempts,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cftoken;cftokens,categories={cloudflare,tokenoperator}
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.status.secretName`
// +kubebuilder:printcolumn:name="Expires",type=date,JSONPath=`.status.expiresAt`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// CloudflareToken declares a Cloudflare API token of an exact scope. The operator mints it through an
// issuer, writes it into a Secret (key api-token, as cert-manager's apiTokenSecretRef reads), rotates it
// before it expires and revokes it when the resource is deleted.
type CloudflareToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec CloudflareTokenSpec `json:"spec"`
	// +optional
	Status CloudflareTokenStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CloudflareTokenList contains a list of CloudflareToken.
type CloudflareTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CloudflareToken `json:"items"`
}

func init() {
	SchemeBuilder.Register(&CloudflareToken{}, &CloudflareTokenList{})
}
