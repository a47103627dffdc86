// Package scrape reads the manager's metrics endpoint the way Prometheus does: HTTPS with a bearer token.
package scrape

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"time"
)

// Metrics GETs url with the bearer token (none when empty) and returns the status and body. The manager's
// certificate is its own self-signed one in the suites (no cert-manager), so it is not verified.
func Metrics(ctx context.Context, url, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the manager's self-signed certificate, in a test
	}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
