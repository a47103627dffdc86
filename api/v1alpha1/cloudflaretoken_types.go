package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IssuerRef names the issuer a CloudflareToken is minted through.
type IssuerRef struct {
	// kind is TokenIssuer (same namespace as the CloudflareToken) or ClusterTokenIssuer. No default.
	// Example: ClusterTokenIssuer.
	// +kubebuilder:validation:Enum=TokenIssuer;ClusterTokenIssuer
	Kind string `json:"kind"`
	// name of the issuer. No default. Example: cloudflare.
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
	// effect: allow or deny. Default: allow. Cloudflare evaluates deny before allow. Example: deny.
	// +optional
	// +kubebuilder:default=allow
	Effect PolicyEffect `json:"effect,omitempty"`
	// permissions are permission group names or ids. No default. Example: ["DNS Write"].
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=128
	// +listType=set
	Permissions []string `json:"permissions"`
	// zones are zone names or ids the policy applies to (zone-scoped permissions). Exclusive with
	// account. No default. Example: ["example.com"].
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	Zones []string `json:"zones,omitempty"`
	// account: the policy applies to the issuer's account (account-scoped permissions). Exclusive with
	// zones. Default: false. Example: true.
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

// SecretPreset names a consumer whose Secret layout the operator writes by default.
// +kubebuilder:validation:Enum=cert-manager;external-dns
type SecretPreset string

const (
	// SecretPresetCertManager writes the token under "api-token", which cert-manager's
	// apiTokenSecretRef reads.
	SecretPresetCertManager SecretPreset = "cert-manager"
	// SecretPresetExternalDNS writes the token under "apiKey", the key external-dns's Cloudflare tutorial
	// reads into CF_API_TOKEN.
	SecretPresetExternalDNS SecretPreset = "external-dns"

	// ExternalDNSSecretKey is the key of the external-dns preset.
	ExternalDNSSecretKey = "apiKey"

	// AnnotationRestartedAt is the pod template annotation the operator stamps (RFC 3339) on the
	// Deployments of spec.secret.restartDeployments after a rotation, as "kubectl rollout restart" stamps
	// kubectl.kubernetes.io/restartedAt.
	AnnotationRestartedAt = "cloudflare.tokenoperator.dev/restartedAt"
	// ConditionConsumersRestarted says whether the last rotation restarted every Deployment of
	// spec.secret.restartDeployments; False names the ones that could not be restarted.
	ConditionConsumersRestarted = "ConsumersRestarted"
	// ConditionTokenDeactivated is True when Cloudflare deactivated the token the Secret held (disabled,
	// expired, revoked, or "revoked (exposed)" for a token found leaked in public): the operator replaced and
	// deleted it, and for an exposed one a person must find the leak. False again once a later token was minted
	// for another reason.
	ConditionTokenDeactivated = "TokenDeactivated"
)

// KeyOf is the Secret key a preset writes the token under.
func (p SecretPreset) KeyOf() string {
	if p == SecretPresetExternalDNS {
		return ExternalDNSSecretKey
	}
	return DefaultSecretKey
}

// SecretExtraKeys names further keys of the Secret that hold facts about the token, never its value.
type SecretExtraKeys struct {
	// tokenIDKey is a key that holds the id of the token (the value of the
	// cloudflare.tokenoperator.dev/token-id annotation). No default: unset writes no such key.
	// Example: "token-id".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	TokenIDKey string `json:"tokenIDKey,omitempty"`
	// expiresAtKey is a key that holds when the token expires, in RFC 3339 (as the
	// cloudflare.tokenoperator.dev/expires-at annotation). No default: unset writes no such key.
	// Example: "expires-at".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	ExpiresAtKey string `json:"expiresAtKey,omitempty"`
}

// SecretTemplate shapes the Secret the token is written to. The rules below spell out TokenKey in CEL:
// keep them in sync with it.
// +kubebuilder:validation:XValidation:rule="!has(self.extraKeys) || !has(self.extraKeys.tokenIDKey) || self.extraKeys.tokenIDKey != (has(self.key) ? self.key : (has(self.preset) && self.preset == 'external-dns' ? 'apiKey' : 'api-token'))",fieldPath=".extraKeys.tokenIDKey",message="spec.secret.extraKeys.tokenIDKey must differ from the key the token value is written under (spec.secret.key, or the key of spec.secret.preset)"
// +kubebuilder:validation:XValidation:rule="!has(self.extraKeys) || !has(self.extraKeys.expiresAtKey) || self.extraKeys.expiresAtKey != (has(self.key) ? self.key : (has(self.preset) && self.preset == 'external-dns' ? 'apiKey' : 'api-token'))",fieldPath=".extraKeys.expiresAtKey",message="spec.secret.extraKeys.expiresAtKey must differ from the key the token value is written under (spec.secret.key, or the key of spec.secret.preset)"
// +kubebuilder:validation:XValidation:rule="!has(self.extraKeys) || !has(self.extraKeys.tokenIDKey) || !has(self.extraKeys.expiresAtKey) || self.extraKeys.tokenIDKey != self.extraKeys.expiresAtKey",fieldPath=".extraKeys.expiresAtKey",message="spec.secret.extraKeys.expiresAtKey must differ from spec.secret.extraKeys.tokenIDKey"
type SecretTemplate struct {
	// name of the Secret, in the CloudflareToken's namespace. Default: the CloudflareToken's name.
	// Example: "cloudflare-api-token".
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name,omitempty"`
	// preset picks the Secret layout of a known consumer. Default "cert-manager": the token under key
	// "api-token", which cert-manager's apiTokenSecretRef reads. "external-dns": the token under key
	// "apiKey", which external-dns's Cloudflare tutorial maps to CF_API_TOKEN (external-dns reads it only
	// at start: list its Deployment in restartDeployments). Example: "external-dns".
	// +optional
	// +kubebuilder:default=cert-manager
	Preset SecretPreset `json:"preset,omitempty"`
	// key the token value is written under; it overrides the preset's key. Default: the preset's key
	// ("api-token" for cert-manager, "apiKey" for external-dns). Example: "api-token".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
	// extraKeys names further keys for the token's id and expiry, for consumers that read those from the
	// Secret's data rather than its annotations. Default: none. Example: {tokenIDKey: token-id,
	// expiresAtKey: expires-at}.
	// +optional
	ExtraKeys *SecretExtraKeys `json:"extraKeys,omitempty"`
	// labels added to the Secret (the operator's own labels win). Default: none. Example:
	// {team: platform}.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// annotations added to the Secret (the operator's own annotations win). Default: none. Example:
	// {reflector.v1.k8s.emberstack.com/reflection-allowed: "true"}.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// restartDeployments names Deployments, in the CloudflareToken's namespace, whose pods read the token
	// only at start (external-dns does). After a rotation has written the new token into the Secret, the
	// operator restarts them as "kubectl rollout restart" does (it stamps the pod template annotation
	// cloudflare.tokenoperator.dev/restartedAt); rotationGracePeriod gives the new pods time before the old
	// token is revoked. The first mint restarts nothing. A missing Deployment gives a Warning event and the
	// ConsumersRestarted condition, not a failed token. Default: none. Example: ["external-dns"].
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	RestartDeployments []string `json:"restartDeployments,omitempty"`
}

// TokenKey is the Secret key the token value is written under: spec.secret.key, else the preset's key.
func (t *SecretTemplate) TokenKey() string {
	if t.Key != "" {
		return t.Key
	}
	return t.Preset.KeyOf()
}

// CloudflareTokenSpec declares the token a team needs.
// +kubebuilder:validation:XValidation:rule="!(has(self.policies) && (has(self.zones) || has(self.permissions)))",message="spec.policies is exclusive with spec.zones and spec.permissions"
// +kubebuilder:validation:XValidation:rule="has(self.policies) || has(self.permissions)",message="one of spec.permissions or spec.policies is required"
// +kubebuilder:validation:XValidation:rule="duration(self.ttl) > duration('0s') && duration(self.ttl) <= duration('8760h')",fieldPath=".ttl",message="spec.ttl must be greater than 0 and at most 8760h"
// +kubebuilder:validation:XValidation:rule="!has(self.renewBefore) || (duration(self.renewBefore) > duration('0s') && duration(self.renewBefore) < duration(self.ttl))",fieldPath=".renewBefore",message="spec.renewBefore must be greater than 0 and less than spec.ttl"
// +kubebuilder:validation:XValidation:rule="has(self.renewBefore) ? duration(self.rotationGracePeriod) < duration(self.renewBefore) : duration(self.rotationGracePeriod).getSeconds() * 3 < duration(self.ttl).getSeconds()",fieldPath=".rotationGracePeriod",message="spec.rotationGracePeriod must be less than spec.renewBefore (default: one third of spec.ttl)"
type CloudflareTokenSpec struct {
	// issuerRef names the TokenIssuer or ClusterTokenIssuer that mints this token. No default.
	// Example: {kind: ClusterTokenIssuer, name: cloudflare}.
	IssuerRef IssuerRef `json:"issuerRef"`
	// zones the token may act on, by name or id. Zone-scoped permissions apply to these zones. Exclusive
	// with policies. Default: none. Example: ["example.com"].
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	Zones []string `json:"zones,omitempty"`
	// permissions are permission group names (or ids), as the API names them: "Zone Read", "DNS Write"
	// (the dashboard's "Edit" is the API's "Write"). Zone-scoped ones apply to spec.zones, account-scoped
	// ones to the issuer's account. Exclusive with policies. No default. Example: ["Zone Read", "DNS Write"].
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	Permissions []string `json:"permissions,omitempty"`
	// policies spell out the token's policies for scopes zones + permissions cannot say (deny rules,
	// different permissions on different zones). Exclusive with zones and permissions. Default: none.
	// Example: [{effect: allow, permissions: ["DNS Write"], zones: ["example.com"]}].
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Policies []Policy `json:"policies,omitempty"`
	// ttl is how long each minted token lives, as a Go duration (h, m, s; no days). Default: 168h; at
	// most 8760h. Example: 720h.
	// +optional
	// +kubebuilder:default="168h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms|us|ns))+$`
	TTL *metav1.Duration `json:"ttl,omitempty"`
	// renewBefore is how long before expiry the token is replaced. Default: one third of ttl (computed
	// by the operator, not stored). Example: 48h.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms|us|ns))+$`
	RenewBefore *metav1.Duration `json:"renewBefore,omitempty"`
	// sourceRanges restrict where the token may be used from (Cloudflare's request_ip condition). Unset:
	// the issuer's defaultSourceRanges. Default: the issuer's defaultSourceRanges. Example:
	// {allow: ["203.0.113.0/24"]}.
	// +optional
	SourceRanges *SourceRanges `json:"sourceRanges,omitempty"`
	// rotationGracePeriod is how long a replaced token stays valid after the Secret holds its successor,
	// so that consumers can pick up the new value. Default: 5m; "0s" revokes right away. Example: 15m.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms|us|ns))+$`
	RotationGracePeriod *metav1.Duration `json:"rotationGracePeriod,omitempty"`
	// deletionPolicy: Revoke (default) deletes the token at Cloudflare and the Secret when this resource
	// is deleted; Retain keeps both. Default: Revoke. Example: Retain.
	// +optional
	// +kubebuilder:default=Revoke
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
	// secret shapes the Secret the token is written to. Default: {} (a Secret named after this resource,
	// preset cert-manager). Example: {name: cloudflare-api-token, preset: external-dns}.
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
	// expiresAt is when the token expires at Cloudflare (when known): a token that cannot be revoked is
	// kept here, and reported, until then.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
	// mintedBy is the issuer, owner and credential that minted the token: it is revoked through them.
	// +optional
	MintedBy *TokenOrigin `json:"mintedBy,omitempty"`
	// stranded is true when nothing the operator holds can revoke the token any more (its issuer is gone,
	// or the issuer's credential no longer sees it): a person must revoke it in Cloudflare's dashboard.
	// +optional
	Stranded bool `json:"stranded,omitempty"`
	// replacedAt is when the Secret switched to the token that replaced this one.
	// +optional
	ReplacedAt *metav1.Time `json:"replacedAt,omitempty"`
	// lastUsedAt is when Cloudflare last saw this token used (last_used_on), as of the operator's last list
	// of the owner's tokens. A use well after replacedAt means a consumer still reads the old value.
	// +optional
	LastUsedAt *metav1.Time `json:"lastUsedAt,omitempty"`
}

// TokenOrigin records which issuer, token owner and parent credential minted a token, so that it is
// revoked through the same ones even after the resource moved to another issuer or the issuer changed.
type TokenOrigin struct {
	// issuerKind is TokenIssuer or ClusterTokenIssuer.
	IssuerKind string `json:"issuerKind"`
	// issuerName is the issuer's name (a TokenIssuer is in the resource's namespace).
	IssuerName string `json:"issuerName"`
	// owner is User or Account: whose tokens the token is one of.
	Owner TokenOwner `json:"owner"`
	// accountID is the account of an account-owned token.
	// +optional
	AccountID string `json:"accountID,omitempty"`
	// credential is a digest of the parent credential (never the credential): whether the issuer still
	// holds the one that minted the token.
	Credential string `json:"credential"`
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
	// lastUsedAt is when Cloudflare last saw the current token used (last_used_on), as of the operator's
	// last list of the owner's tokens (every --drift-interval); absent while it was never used.
	// +optional
	LastUsedAt *metav1.Time `json:"lastUsedAt,omitempty"`
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
	// mintedBy is the issuer, owner and credential that minted the current token.
	// +optional
	MintedBy *TokenOrigin `json:"mintedBy,omitempty"`
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
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.status.expiresAt`,description="When the current token expires (RFC 3339)"
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

// RecordedTokenIDs are the ids of the tokens status records: the current one and the retiring ones. A token
// of this resource at Cloudflare that is not among them is unrecorded.
func (s *CloudflareTokenStatus) RecordedTokenIDs() map[string]bool {
	ids := make(map[string]bool, 1+len(s.RetiringTokens))
	if s.TokenID != "" {
		ids[s.TokenID] = true
	}
	for _, rt := range s.RetiringTokens {
		ids[rt.ID] = true
	}
	return ids
}
