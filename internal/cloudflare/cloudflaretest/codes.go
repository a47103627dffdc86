package cloudflaretest

// Error codes the fake answers with. Those marked (chosen) are not documented by Cloudflare; the fake picks a
// plausible code and keeps it stable so that the operator's tests can rely on it. The operator must classify
// them by HTTP status first and code second, because the real API may differ.
const (
	codeInvalidToken      = 1000  // 401: unknown, revoked, expired, not yet valid or disabled token
	codeRouteNotFound     = 7003  // 404: no such route or object ("Could not route to ...")
	codeInvalidHeaders    = 6003  // 400: malformed Authorization / X-Auth-* header, chain 6111/6102/6103
	codeBadAuthFormat     = 6111  // chain of 6003: "Invalid format for Authorization header"
	codeBadEmailFormat    = 6102  // chain of 6003: "Invalid format for X-Auth-Email header"
	codeBadKeyFormat      = 6103  // chain of 6003: "Invalid format for X-Auth-Key header"
	codeMalformedJSON     = 6007  // 400: the body is not the JSON object expected
	codeInvalidRequest    = 6002  // 400 (chosen): a field of the body or query is invalid; the message names it
	codeUnknownKey        = 9103  // 403: wrong global API key or e-mail
	codeMissingAuth       = 9106  // 400: no credentials at all
	codeUnauthorized      = 9109  // 403: "Unauthorized to access requested resource" / request_ip refusal
	codeAuthError         = 10000 // 403: the token lacks the permission for the resource
	codeInternal          = 10001 // 500 (chosen): injected server error
	codeRateLimited       = 971   // 429: over the per-credential budget
	codeBlockedTLD        = 1038  // 400: DNS writes on .cf .ga .gq .ml .tk zones
	codeReusedPolicy      = 1001  // 400: a policy id on create ("Reusing existing policies is not supported")
	codeQuotaExceeded     = 1005  // 400 (chosen): the owner already holds as many tokens as allowed
	codeRecordNotFound    = 81044 // 404: DNS record does not exist
	codeRecordExists      = 81058 // 400: an identical DNS record already exists
	codeZoneListForbidden = 0     // 403: unfiltered /zones without account-wide zone rights (second audit)
)

const (
	msgInvalidToken = "Invalid API Token"
	msgUnauthorized = "Unauthorized to access requested resource"
	msgAuthError    = "Authentication error"
	msgRateLimited  = "Please wait and consider throttling your request speed"
	msgBlockedTLD   = "You cannot use this API for domains with a .cf, .ga, .gq, .ml, or .tk TLD (freenom). " +
		"For this TLD, please use the Dashboard to manage your DNS."
)
