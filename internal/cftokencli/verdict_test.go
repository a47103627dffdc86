package cftokencli

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// The fake refuses every token that is not active with 401 / 1000 (as Cloudflare is reported to); the real
// verify endpoint may instead answer with the token and its status. Both must read right.
func TestJudge(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	authErr := &cloudflare.Error{Class: cloudflare.ClassAuthentication, Op: "verify credential", HTTPStatus: 401,
		Codes: []int{1000}, Message: "Invalid API Token"}
	for _, tc := range []struct {
		name      string
		info      cloudflare.CredentialInfo
		err       error
		state     string
		detail    string
		wantError bool
	}{
		{name: "active", info: cloudflare.CredentialInfo{ID: "a1", Status: "active", ExpiresOn: &exp}, state: "active"},
		{name: "disabled, reported", info: cloudflare.CredentialInfo{ID: "a1", Status: "disabled"}, err: authErr,
			state: "disabled", detail: "reports the token as disabled"},
		{name: "expired, reported", info: cloudflare.CredentialInfo{ID: "a1", Status: "expired"}, err: authErr,
			state: "expired", detail: "as expired"},
		{name: "leaked", info: cloudflare.CredentialInfo{ID: "a1", Status: "revoked (exposed)"}, err: authErr,
			state: "revoked (exposed)", detail: "revoked (exposed)"},
		{name: "not accepted at all", err: authErr, state: "unknown", detail: "does not accept this value"},
		{name: "source ranges", err: &cloudflare.Error{Class: cloudflare.ClassIPRestricted, Message: "Cannot use the access token from location: 198.51.100.7"},
			state: "ip-restricted", detail: "198.51.100.7"},
		{name: "Cloudflare down", err: &cloudflare.Error{Class: cloudflare.ClassTransient, HTTPStatus: 503}, wantError: true},
		{name: "rate limited", err: &cloudflare.Error{Class: cloudflare.ClassRateLimited, HTTPStatus: 429}, wantError: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := judge(tc.info, tc.err)
			if (err != nil) != tc.wantError {
				t.Fatalf("error %v, want error %v", err, tc.wantError)
			}
			if tc.wantError {
				return
			}
			if v.State != tc.state || !strings.Contains(v.Detail, tc.detail) || v.TokenID != tc.info.ID {
				t.Fatalf("verdict %+v, want state %q with %q", v, tc.state, tc.detail)
			}
			if tc.info.ExpiresOn != nil && (v.ExpiresAt == nil || !v.ExpiresAt.Time.Equal(exp)) {
				t.Fatalf("expiry %v", v.ExpiresAt)
			}
		})
	}
}

func TestCheckReportHealth(t *testing.T) {
	for _, tc := range []struct {
		name    string
		r       checkReport
		healthy bool
	}{
		{"active, the recorded token", checkReport{State: "active", TokenID: "a", StatusTokenID: "a"}, true},
		{"active, another token", checkReport{State: "active", TokenID: "b", StatusTokenID: "a"}, false},
		{"active, whitespace", checkReport{State: "active", TokenID: "a", StatusTokenID: "a", Problems: []string{"ws"}}, false},
		{"expired", checkReport{State: "expired", TokenID: "a", StatusTokenID: "a"}, false},
		{"missing", checkReport{State: "missing", StatusTokenID: "a"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.judge()
			if tc.r.Healthy != tc.healthy {
				t.Fatalf("healthy %v, want %v: %+v", tc.r.Healthy, tc.healthy, tc.r)
			}
		})
	}
}
