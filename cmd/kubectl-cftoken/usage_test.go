package main

import (
	"os"
	"path/filepath"
	"testing"
)

// Usage mistakes exit 2 with a message naming the rule, before the cluster is asked anything: the
// kubeconfig here points at a server that does not exist.
func TestUsageErrorsExitTwo(t *testing.T) {
	nowhere := filepath.Join(t.TempDir(), "nowhere.kubeconfig")
	if err := os.WriteFile(nowhere, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "name a subcommand: status, rotate, check or issuers"},
		{[]string{"renew"}, `unknown command "renew"`},
		{[]string{"status", "-o", "xml"}, `--output (-o) must be table, json or yaml, not "xml"`},
		{[]string{"status", "a", "b"}, "accepts at most 1 arg"},
		{[]string{"status", "-A", "dns01"}, "either a NAME or --all-namespaces (-A), not both"},
		{[]string{"rotate"}, "rotate takes the NAME of one CloudflareToken, got 0 arguments"},
		{[]string{"rotate", "dns01", "--timeout", "0s", "--wait"}, "--timeout must be greater than 0"},
		{[]string{"rotate", "dns01", "--timeout", "soon"}, `invalid argument "soon" for "--timeout"`},
		{[]string{"check", "a", "b"}, "check takes the NAME of one CloudflareToken, got 2 arguments"},
		{[]string{"check", "dns01", "--api-url", "api.cloudflare.com"}, `--api-url must be an http(s) URL`},
		{[]string{"issuers", "extra"}, `unknown command "extra"`},
		{[]string{"status", "--bogus"}, "unknown flag: --bogus"},
	} {
		r := plugin(t, nowhere, tc.args...)
		expectExit(t, r, 2)
		expectContains(t, r, tc.want, "See 'kubectl cftoken --help'.")
	}

	// Help is no mistake.
	r := plugin(t, nowhere, "rotate", "--help")
	expectExit(t, r, 0)
	expectContains(t, r, "kubectl cftoken rotate NAME", "--wait", "--timeout")
	// A cluster that cannot be reached is an error, not a usage mistake.
	r = plugin(t, nowhere, "status")
	expectExit(t, r, 1)
	expectContains(t, r, "127.0.0.1:1")
}
