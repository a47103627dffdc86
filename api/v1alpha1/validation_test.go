package v1alpha1_test

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// A valid object of each kind; each table row breaks it in one place.
const (
	validToken = `
apiVersion: cloudflare.tokenoperator.dev/v1alpha1
kind: CloudflareToken
metadata: {name: NAME, namespace: default}
spec:
  issuerRef: {kind: ClusterTokenIssuer, name: cloudflare}
  zones: [example.com]
  permissions: [Zone Read, DNS Write]
`
	validIssuer = `
apiVersion: cloudflare.tokenoperator.dev/v1alpha1
kind: TokenIssuer
metadata: {name: NAME, namespace: default}
spec:
  apiTokenSecretRef: {name: cf-parent}
`
	validClusterIssuer = `
apiVersion: cloudflare.tokenoperator.dev/v1alpha1
kind: ClusterTokenIssuer
metadata: {name: NAME}
spec:
  apiTokenSecretRef: {name: cf-parent, namespace: cloudflare-token-operator}
`
)

var objectCounter int

// object parses a manifest and applies edits, given as dotted paths under spec; a nil value removes.
func object(manifest string, edits map[string]any) *unstructured.Unstructured {
	objectCounter++
	m := map[string]any{}
	Expect(yaml.Unmarshal([]byte(strings.Replace(manifest, "NAME", fmt.Sprintf("obj-%d", objectCounter), 1)), &m)).To(Succeed())
	u := &unstructured.Unstructured{Object: m}
	for path, v := range edits {
		fields := append([]string{"spec"}, strings.Split(path, ".")...)
		if v == nil {
			unstructured.RemoveNestedField(u.Object, fields...)
			continue
		}
		Expect(unstructured.SetNestedField(u.Object, v, fields...)).To(Succeed())
	}
	return u
}

var _ = Describe("schema validation on the real API server", func() {
	It("accepts the valid objects the table starts from", func() {
		for _, manifest := range []string{validToken, validIssuer, validClusterIssuer} {
			Expect(k8sClient.Create(ctx, object(manifest, nil))).To(Succeed())
		}
	})

	It("accepts every Secret layout the rules allow", func() {
		for _, secret := range []map[string]any{
			{"preset": "external-dns", "restartDeployments": []any{"external-dns"}},
			// An explicit key frees the preset's key for an extra key.
			{"preset": "external-dns", "key": "token", "extraKeys": map[string]any{"tokenIDKey": "apiKey", "expiresAtKey": "api-token"}},
			{"key": "token", "extraKeys": map[string]any{"tokenIDKey": "api-token"}},
			{"extraKeys": map[string]any{"tokenIDKey": "token-id", "expiresAtKey": "expires-at"}},
			{"extraKeys": map[string]any{}},
		} {
			Expect(k8sClient.Create(ctx, object(validToken, map[string]any{"secret": secret}))).To(Succeed(), "%v", secret)
		}
	})

	DescribeTable("rejects a bad object with a message naming the field",
		func(manifest string, edits map[string]any, wantField, wantMessage string) {
			err := k8sClient.Create(ctx, object(manifest, edits))
			Expect(err).To(HaveOccurred(), "the API server accepted an object that breaks the rule")
			Expect(err.Error()).To(ContainSubstring(wantField))
			Expect(err.Error()).To(ContainSubstring(wantMessage))
		},
		Entry("ttl of zero", validToken, map[string]any{"ttl": "0s"},
			"spec.ttl", "must be greater than 0 and at most 8760h"),
		Entry("ttl over a year", validToken, map[string]any{"ttl": "8761h"},
			"spec.ttl", "must be greater than 0 and at most 8760h"),
		Entry("ttl in days, which Go durations do not have", validToken, map[string]any{"ttl": "7d"},
			"spec.ttl", "should match"),
		Entry("renewBefore equal to ttl", validToken, map[string]any{"ttl": "24h", "renewBefore": "24h"},
			"spec.renewBefore", "less than spec.ttl"),
		Entry("renewBefore of zero", validToken, map[string]any{"renewBefore": "0s"},
			"spec.renewBefore", "greater than 0"),
		Entry("rotationGracePeriod not below renewBefore", validToken,
			map[string]any{"ttl": "24h", "renewBefore": "1h", "rotationGracePeriod": "1h"},
			"spec.rotationGracePeriod", "less than spec.renewBefore"),
		Entry("rotationGracePeriod not below the default renewBefore (ttl/3)", validToken,
			map[string]any{"ttl": "3h", "rotationGracePeriod": "1h"},
			"spec.rotationGracePeriod", "one third of spec.ttl"),
		Entry("policies together with zones and permissions", validToken,
			map[string]any{"policies": []any{map[string]any{"permissions": []any{"DNS Write"}, "zones": []any{"example.com"}}}},
			"spec", "spec.policies is exclusive with spec.zones and spec.permissions"),
		Entry("neither permissions nor policies", validToken, map[string]any{"permissions": nil},
			"spec", "one of spec.permissions or spec.policies is required"),
		Entry("empty permissions", validToken, map[string]any{"permissions": []any{}},
			"spec.permissions", "at least 1 items"),
		Entry("a policy with neither zones nor account", validToken,
			map[string]any{"zones": nil, "permissions": nil, "policies": []any{map[string]any{"permissions": []any{"DNS Write"}}}},
			"spec.policies[0]", "a policy names either zones or account: true"),
		Entry("a policy with an empty permissions list", validToken,
			map[string]any{"zones": nil, "permissions": nil, "policies": []any{map[string]any{"permissions": []any{}, "account": true}}},
			"spec.policies[0].permissions", "at least 1 items"),
		Entry("an allowed source range that is not a CIDR", validToken,
			map[string]any{"sourceRanges": map[string]any{"allow": []any{"203.0.113.0/33"}}},
			"spec.sourceRanges.allow[0]", "must be a valid CIDR"),
		Entry("a denied source range that is an address, not a CIDR", validToken,
			map[string]any{"sourceRanges": map[string]any{"deny": []any{"not-an-ip"}}},
			"spec.sourceRanges.deny[0]", "must be a valid CIDR"),
		Entry("a secret name that is not a DNS subdomain", validToken,
			map[string]any{"secret": map[string]any{"name": "Bad_Name"}},
			"spec.secret.name", "should match"),
		Entry("a secret key with a slash", validToken,
			map[string]any{"secret": map[string]any{"key": "api/token"}},
			"spec.secret.key", "should match"),
		Entry("a preset no consumer has", validToken,
			map[string]any{"secret": map[string]any{"preset": "traefik"}},
			"spec.secret.preset", "Unsupported value"),
		Entry("a token-id key equal to the preset's default key", validToken,
			map[string]any{"secret": map[string]any{"extraKeys": map[string]any{"tokenIDKey": "api-token"}}},
			"spec.secret.extraKeys.tokenIDKey", "must differ from the key the token value is written under"),
		Entry("a token-id key equal to the external-dns preset's key", validToken,
			map[string]any{"secret": map[string]any{"preset": "external-dns", "extraKeys": map[string]any{"tokenIDKey": "apiKey"}}},
			"spec.secret.extraKeys.tokenIDKey", "must differ from the key the token value is written under"),
		Entry("a token-id key equal to an explicit key", validToken,
			map[string]any{"secret": map[string]any{"preset": "external-dns", "key": "token", "extraKeys": map[string]any{"tokenIDKey": "token"}}},
			"spec.secret.extraKeys.tokenIDKey", "must differ from the key the token value is written under"),
		Entry("an expiry key equal to the preset's default key", validToken,
			map[string]any{"secret": map[string]any{"extraKeys": map[string]any{"expiresAtKey": "api-token"}}},
			"spec.secret.extraKeys.expiresAtKey", "must differ from the key the token value is written under"),
		Entry("an expiry key equal to an explicit key", validToken,
			map[string]any{"secret": map[string]any{"key": "token", "extraKeys": map[string]any{"expiresAtKey": "token"}}},
			"spec.secret.extraKeys.expiresAtKey", "must differ from the key the token value is written under"),
		Entry("the same extra key for the id and the expiry", validToken,
			map[string]any{"secret": map[string]any{"extraKeys": map[string]any{"tokenIDKey": "meta", "expiresAtKey": "meta"}}},
			"spec.secret.extraKeys.expiresAtKey", "must differ from spec.secret.extraKeys.tokenIDKey"),
		Entry("an extra key with a slash", validToken,
			map[string]any{"secret": map[string]any{"extraKeys": map[string]any{"tokenIDKey": "token/id"}}},
			"spec.secret.extraKeys.tokenIDKey", "should match"),
		Entry("an empty extra key", validToken,
			map[string]any{"secret": map[string]any{"extraKeys": map[string]any{"expiresAtKey": ""}}},
			"spec.secret.extraKeys.expiresAtKey", "at least 1 chars"),
		Entry("a Deployment to restart whose name is not a DNS subdomain", validToken,
			map[string]any{"secret": map[string]any{"restartDeployments": []any{"External_DNS"}}},
			"spec.secret.restartDeployments[0]", "should match"),
		Entry("the same Deployment to restart twice", validToken,
			map[string]any{"secret": map[string]any{"restartDeployments": []any{"external-dns", "external-dns"}}},
			"spec.secret.restartDeployments[1]", "Duplicate value"),
		Entry("an issuerRef kind that is not an issuer", validToken,
			map[string]any{"issuerRef": map[string]any{"kind": "Issuer", "name": "x"}},
			"spec.issuerRef.kind", "Unsupported value"),
		Entry("a deletionPolicy that does not exist", validToken, map[string]any{"deletionPolicy": "Orphan"},
			"spec.deletionPolicy", "Unsupported value"),
		Entry("an issuer with both an API token and an API key", validIssuer,
			map[string]any{"apiKeySecretRef": map[string]any{"name": "k"}, "email": "ops@example.com"},
			"spec", "exactly one of spec.apiTokenSecretRef or spec.apiKeySecretRef must be set"),
		Entry("an issuer with no credential", validIssuer, map[string]any{"apiTokenSecretRef": nil},
			"spec", "exactly one of spec.apiTokenSecretRef or spec.apiKeySecretRef must be set"),
		Entry("an API key without its e-mail", validIssuer,
			map[string]any{"apiTokenSecretRef": nil, "apiKeySecretRef": map[string]any{"name": "k"}},
			"spec.email", "spec.email is required with spec.apiKeySecretRef"),
		Entry("an e-mail beside an API token", validIssuer, map[string]any{"email": "ops@example.com"},
			"spec.email", "spec.email goes only with spec.apiKeySecretRef"),
		Entry("account-owned tokens without an account", validIssuer, map[string]any{"tokenOwner": "Account"},
			"spec.accountID", "spec.accountID is required when spec.tokenOwner is Account"),
		Entry("a ClusterTokenIssuer with both credentials", validClusterIssuer,
			map[string]any{"apiKeySecretRef": map[string]any{"name": "k"}, "email": "ops@example.com"},
			"spec", "exactly one of spec.apiTokenSecretRef or spec.apiKeySecretRef must be set"),
		Entry("a ClusterTokenIssuer owner that does not exist", validClusterIssuer, map[string]any{"tokenOwner": "Team"},
			"spec.tokenOwner", "Unsupported value"),
	)
})
