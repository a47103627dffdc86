package cftokencli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// A status written by a newer operator, with fields this plugin was not built with: the story shows them
// all (retiring tokens' extra fields as DETAILS, unknown top-level fields under "Other status fields").
func TestStoryShowsStatusFieldsItDoesNotKnow(t *testing.T) {
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(`
tokenID: new1
lastUsedAt: "2030-01-01T00:00:00Z"
quota: {held: 3}
retiringTokens:
- id: old1
  revokeAt: "2030-01-01T00:05:00Z"
  issuer: ClusterTokenIssuer/cloudflare
  owner: User
`), &raw); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	printRetiring(&b, raw, now)
	for _, want := range []string{"old1", "2030-01-01T00:05:00Z (in 5m)", "issuer=ClusterTokenIssuer/cloudflare owner=User"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("retiring tokens lack %q:\n%s", want, b.String())
		}
	}
	other := otherStatusFields(raw)
	if strings.Join(other, "\n") != "lastUsedAt: 2030-01-01T00:00:00Z\nquota: {\"held\":3}" {
		t.Errorf("other fields: %q", other)
	}
}
