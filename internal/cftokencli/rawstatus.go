package cftokencli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The story reads retiring tokens and the status fields it has no line for from the status as the server
// sent it, so that fields the operator gains later (who minted a retiring token, when a token was last
// used) show without a new plugin.

// storyFields are the status fields the story has a line or a table for.
var storyFields = map[string]bool{
	"conditions": true, "observedGeneration": true, "tokenID": true, "tokenName": true, "serial": true,
	"issuedAt": true, "expiresAt": true, "renewalTime": true, "scopeHash": true, "zones": true,
	"permissionGroups": true, "secretName": true, "retiringTokens": true, "lastRotateRequest": true,
	"lastFailureTime": true, "failedAttempts": true,
}

// printRetiring lists status.retiringTokens: id, when it is revoked, then any other field as key=value.
func printRetiring(w io.Writer, raw map[string]any, now time.Time) {
	items, _ := raw["retiringTokens"].([]any)
	if len(items) == 0 {
		fmt.Fprintln(w, indentPrefix+"(none)")
		return
	}
	c := newColumns(w, indentPrefix, "ID", "REVOKE AT", "DETAILS")
	for _, it := range items {
		m, _ := it.(map[string]any)
		id, _ := m["id"].(string)
		c.row(id, stamp(parseTime(m["revokeAt"]), now), keyValues(m, "id", "revokeAt"))
	}
	c.flush()
}

// otherStatusFields are "key: value" lines for the status fields the story does not show otherwise.
func otherStatusFields(raw map[string]any) []string {
	var out []string
	for k, v := range raw {
		if !storyFields[k] {
			out = append(out, k+": "+compact(v))
		}
	}
	sort.Strings(out)
	return out
}

// keyValues is "k=v k2=v2" for the fields of m other than skip, sorted by key.
func keyValues(m map[string]any, skip ...string) string {
	var out []string
	for k, v := range m {
		if !slices.Contains(skip, k) {
			out = append(out, k+"="+compact(v))
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// compact renders a value as it reads best: strings bare, everything else as JSON.
func compact(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func parseTime(v any) *metav1.Time {
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil
	}
	mt := metav1.NewTime(t)
	return &mt
}
