package v1alpha1

// CIDR is an IPv4 or IPv6 network in CIDR notation, such as 203.0.113.0/24 or 2001:db8::/32.
// +kubebuilder:validation:MaxLength=64
// +kubebuilder:validation:XValidation:rule="isCIDR(self)",message="must be a valid CIDR such as 203.0.113.0/24 or 2001:db8::/32"
type CIDR string

// SourceRanges limits the client addresses a token may be used from (Cloudflare's request_ip condition).
type SourceRanges struct {
	// allow lists the networks the token may be used from (request_ip "in"). Default: none, which allows
	// every address that deny does not exclude. Example: ["203.0.113.0/24", "2001:db8::/32"].
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	Allow []CIDR `json:"allow,omitempty"`
	// deny lists the networks the token may never be used from (request_ip "not_in"); deny wins over
	// allow. Default: none. Example: ["203.0.113.128/25"].
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	Deny []CIDR `json:"deny,omitempty"`
}

// Condition types and reasons shared by all kinds.
const (
	// ConditionReady is True when the object does its job: an issuer's credential is verified; a
	// CloudflareToken's Secret holds a live token of the declared scope.
	ConditionReady = "Ready"
	// ConditionReconciling is True while the operator works towards the declared state.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the operator cannot make progress without a change by a person.
	ConditionStalled = "Stalled"
	// ConditionTokensStranded is True on a CloudflareToken while a replaced token cannot be revoked by the
	// operator (status.retiringTokens[].stranded).
	ConditionTokensStranded = "TokensStranded"
	// ConditionInUse is True on an issuer being deleted while CloudflareTokens still use it.
	ConditionInUse = "InUse"
	// ConditionDNSEditable is False on a CloudflareToken naming a .cf, .ga, .gq, .ml or .tk zone: the
	// token is minted, but Cloudflare refuses DNS record edits there through the API (so DNS-01 fails).
	ConditionDNSEditable = "DNSEditable"
)

// Issuer kinds, as spec.issuerRef.kind names them.
const (
	KindTokenIssuer        = "TokenIssuer"
	KindClusterTokenIssuer = "ClusterTokenIssuer"
)

// Labels and annotations the operator writes.
const (
	LabelManagedBy        = "app.kubernetes.io/managed-by"
	ManagedByValue        = "cloudflare-token-operator"
	LabelToken            = "cloudflare.tokenoperator.dev/token"
	AnnotationTokenID     = "cloudflare.tokenoperator.dev/token-id"
	AnnotationExpiresAt   = "cloudflare.tokenoperator.dev/expires-at"
	AnnotationRotate      = "cloudflare.tokenoperator.dev/rotate"
	FinalizerRevokeTokens = "cloudflare.tokenoperator.dev/revoke-tokens"
	// FinalizerIssuerInUse keeps an issuer while CloudflareTokens use it (name it, or hold tokens it
	// minted), so that their tokens can still be revoked through its credential.
	FinalizerIssuerInUse   = "cloudflare.tokenoperator.dev/in-use"
	DefaultSecretKey       = "api-token"
	DefaultAPIKeySecretKey = "api-key"
)
