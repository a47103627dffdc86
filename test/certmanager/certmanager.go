// Package certmanager runs cert-manager's own Cloudflare DNS-01 solver against the fake Cloudflare API. It is
// a separate module so that the operator's go.mod does not carry cert-manager.
package certmanager

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/cert-manager/cert-manager/pkg/issuer/acme/dns/cloudflare"
)

// transportMu serialises Solve: the solver's base URL is a constant, so it is pointed at the fake by
// swapping the process-wide http.DefaultTransport.
var transportMu sync.Mutex

// rewrite sends requests for api.cloudflare.com to the fake's loopback address, over plain HTTP.
type rewrite struct {
	target *url.URL
	next   http.RoundTripper
}

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != "api.cloudflare.com" {
		return nil, fmt.Errorf("certmanager test transport: refusing non-Cloudflare host %q", req.URL.Host)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host = r.target.Scheme, r.target.Host
	out.Host = r.target.Host
	return r.next.RoundTrip(out)
}

// Solve presents a DNS-01 challenge for domain with cert-manager's Cloudflare solver and the given API token,
// checks that it can clean it up again, and returns the first failure. fakeURL is the fake's base URL
// (ending in /client/v4). present, when not nil, runs between Present and CleanUp (to inspect the record).
func Solve(fakeURL, token, domain string, present func() error) error {
	target, err := url.Parse(fakeURL)
	if err != nil {
		return err
	}
	transportMu.Lock()
	defer transportMu.Unlock()
	saved := http.DefaultTransport
	http.DefaultTransport = rewrite{target: target, next: saved}
	defer func() { http.DefaultTransport = saved }()

	p, err := cloudflare.NewDNSProviderCredentials("", "", token, nil, "cloudflare-token-operator-test")
	if err != nil {
		return err
	}
	ctx := context.Background()
	fqdn := "_acme-challenge." + domain + "."
	if err := p.Present(ctx, domain, fqdn, "challenge-value"); err != nil {
		return fmt.Errorf("present: %w", err)
	}
	if present != nil {
		if err := present(); err != nil {
			return err
		}
	}
	if err := p.CleanUp(ctx, domain, fqdn, "challenge-value"); err != nil {
		return fmt.Errorf("clean up: %w", err)
	}
	return nil
}
