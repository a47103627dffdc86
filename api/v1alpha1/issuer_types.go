package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// TokenOwner says who owns the tokens an issuer mints.
// +kubebuilder:validation:Enum=User;Account
type TokenOwner string

const (
	// TokenOwnerUser mints user-owned tokens (/user/tokens): at most 50 per user.
	TokenOwnerUser TokenOwner = "User"
	// TokenOwnerAccount mints account-owned tokens (/accounts/{accountID}/tokens): at most 500 per account.
	TokenOwnerAccount TokenOwner = "Account"
)

// ConditionCredentialHardened is an issuer's verdict on its parent API token, read from the token's own
// conditions at each verification: True when it carries a client IP filter and an expiry, as Cloudflare
// advises for a token that can create tokens; False (a warning, not an error: Ready is unaffected) with the
// missing measure in the message. Absent for a Global API Key, which can carry neither.
const ConditionCredentialHardened = "CredentialHardened"

// SecretKeyRef points at one key of a Secret.
type SecretKeyRef struct {
	// name of the Secret. No default. Example: cf-parent.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
	// namespace of the Secret. A TokenIssuer reads only from its own namespace (leave this empty or set it
	// to that namespace); a ClusterTokenIssuer only from the operator's namespace. Default: the issuer's
	// namespace (TokenIssuer) or the operator's namespace (ClusterTokenIssuer). Example:
	// cloudflare-token-operator.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
	// key in the Secret's data. Default: "api-token" for apiTokenSecretRef and "api-key" for
	// apiKeySecretRef. Example: api-token.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// IssuerSpec is the spec shared by TokenIssuer and ClusterTokenIssuer: the parent credential and the bounds
// of what may be minted from it.
// +kubebuilder:validation:XValidation:rule="has(self.apiTokenSecretRef) != has(self.apiKeySecretRef)",message="exactly one of spec.apiTokenSecretRef or spec.apiKeySecretRef must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.apiKeySecretRef) || has(self.email)",fieldPath=".email",message="spec.email is required with spec.apiKeySecretRef (the global API key's account e-mail)"
// +kubebuilder:validation:XValidation:rule="!has(self.email) || has(self.apiKeySecretRef)",fieldPath=".email",message="spec.email goes only with spec.apiKeySecretRef; an API token needs no e-mail"
// +kubebuilder:validation:XValidation:rule="self.tokenOwner != 'Account' || has(self.accountID)",fieldPath=".accountID",message="spec.accountID is required when spec.tokenOwner is Account"
type IssuerSpec struct {
	// apiTokenSecretRef points at the parent API token. It needs "API Tokens Write" (tokenOwner User) or
	// "Account API Tokens Write" (tokenOwner Account), plus "Zone Read" on every zone its tokens may name.
	// Exclusive with apiKeySecretRef. No default. Example: {name: cf-parent, key: api-token}.
	// +optional
	APITokenSecretRef *SecretKeyRef `json:"apiTokenSecretRef,omitempty"`
	// apiKeySecretRef points at a legacy Global API Key; email must be set with it. Prefer an API token.
	// Exclusive with apiTokenSecretRef. No default. Example: {name: cf-global-key, key: api-key}.
	// +optional
	APIKeySecretRef *SecretKeyRef `json:"apiKeySecretRef,omitempty"`
	// email of the Cloudflare user that owns the global API key; only with apiKeySecretRef. No default.
	// Example: ops@example.com.
	// +optional
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+$`
	Email string `json:"email,omitempty"`
	// accountID is the 32-hex Cloudflare account id. Required for account-owned tokens and for
	// account-scoped permissions. No default. Example: 0123456789abcdef0123456789abcdef.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{32}$`
	AccountID string `json:"accountID,omitempty"`
	// tokenOwner: User mints user-owned tokens (quota 50), Account mints account-owned tokens (quota 500).
	// Default: User. Example: Account.
	// +optional
	// +kubebuilder:default=User
	TokenOwner TokenOwner `json:"tokenOwner,omitempty"`
	// allowedZones bounds the zones (names or ids) tokens minted through this issuer may reach. A token
	// asking for any other zone is refused with reason ZoneNotAllowed. Zones given by id are checked by the
	// name they resolve to. "*": any zone the parent credential can read, and account-wide resources.
	// Empty or absent: none (fail closed; changed in v1alpha1 from "any"). Example: ["example.com"].
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=253
	AllowedZones []string `json:"allowedZones,omitempty"`
	// allowedPermissions bounds the permission groups (names or ids) tokens may carry; anything else is
	// refused with reason PermissionNotAllowed. Checked on the permission groups the names or ids resolve
	// to. "*": any zone-scoped group; account- and user-scoped groups must be named. Groups that create or
	// read tokens (API Tokens Read/Write, Account API Tokens Read/Write) are never minted. Empty or absent:
	// none (fail closed; changed in v1alpha1 from "any"). Example: ["Zone Read", "DNS Write"].
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=128
	AllowedPermissions []string `json:"allowedPermissions,omitempty"`
	// maxTTL is the longest ttl a token may ask for; a longer one is refused with reason TTLNotAllowed.
	// Default: none (no bound beyond the token's own limit of 8760h). Example: 2160h.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms|us|ns))+$`
	MaxTTL *metav1.Duration `json:"maxTTL,omitempty"`
	// maxTokensPerNamespace bounds how many CloudflareTokens of one namespace may hold tokens minted
	// through this issuer; a further one is refused with reason NamespaceTokenLimit. Default: none (no
	// bound). Example: 10.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxTokensPerNamespace *int32 `json:"maxTokensPerNamespace,omitempty"`
	// defaultSourceRanges apply to tokens that set no sourceRanges of their own. Default: none (tokens
	// usable from anywhere). Example: {allow: ["203.0.113.0/24"]}.
	// +optional
	DefaultSourceRanges *SourceRanges `json:"defaultSourceRanges,omitempty"`
}

// IssuerStatus is the observed state of an issuer.
type IssuerStatus struct {
	// conditions: Ready is True once the credential is verified.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// observedGeneration is the generation last reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// credentialExpiresAt is when the parent token itself expires, if it does.
	// +optional
	CredentialExpiresAt *metav1.Time `json:"credentialExpiresAt,omitempty"`
	// lastVerifiedAt is when the credential was last verified.
	// +optional
	LastVerifiedAt *metav1.Time `json:"lastVerifiedAt,omitempty"`
	// tokensHeld counts the tokens the parent's owner holds at Cloudflare (all of them, not only this
	// operator's), as of the last sweep.
	// +optional
	TokensHeld *int32 `json:"tokensHeld,omitempty"`
	// tokenQuota is Cloudflare's limit for the owner: 50 per user, 500 per account.
	// +optional
	TokenQuota int32 `json:"tokenQuota,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories={cloudflare,tokenoperator}
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// TokenIssuer holds a parent Cloudflare credential, in its own namespace, and the bounds of what
// CloudflareTokens of that namespace may mint from it.
type TokenIssuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec IssuerSpec `json:"spec"`
	// +optional
	Status IssuerStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// TokenIssuerList contains a list of TokenIssuer.
type TokenIssuerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TokenIssuer `json:"items"`
}

// ClusterTokenIssuerSpec is an IssuerSpec plus the namespaces that may use it.
type ClusterTokenIssuerSpec struct {
	IssuerSpec `json:",inline"`
	// namespaceSelector picks the namespaces whose CloudflareTokens may use this issuer. Empty selects
	// every namespace. Default: none (every namespace). Example: {matchLabels: {cloudflare-tokens: allowed}}.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories={cloudflare,tokenoperator}
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ClusterTokenIssuer holds a parent Cloudflare credential, in the operator's namespace, for
// CloudflareTokens of every namespace its namespaceSelector picks.
type ClusterTokenIssuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ClusterTokenIssuerSpec `json:"spec"`
	// +optional
	Status IssuerStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterTokenIssuerList contains a list of ClusterTokenIssuer.
type ClusterTokenIssuerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterTokenIssuer `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TokenIssuer{}, &TokenIssuerList{}, &ClusterTokenIssuer{}, &ClusterTokenIssuerList{})
}
