package cloudflare

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const testParentToken = "cfut_parentSECRETvalue0123456789abcdefghijklmn"

// envelopeServer answers every request with one Cloudflare error envelope and counts requests.
func envelopeServer(t *testing.T, status, code int, msg string, header http.Header) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		for k, vs := range header {
			w.Header()[k] = vs
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"success":false,"errors":[{"code":%d,"message":%q}],"messages":[],"result":null}`, code, msg)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func testClient(t *testing.T, baseURL string, owner Owner, fo FactoryOptions) Client {
	t.Helper()
	c, err := NewFactory(fo).ClientFor(Config{
		BaseURL:    baseURL,
		Credential: Credential{APIToken: NewSecret(testParentToken)},
		AccountID:  "0123456789abcdef0123456789abcdef",
		Owner:      owner,
	})
	if err != nil {
		t.Fatalf("ClientFor: %v", err)
	}
	return c
}

func TestClassificationOfCloudflareAnswers(t *testing.T) {
	retry := http.Header{"Retry-After": []string{"42"}}
	cases := []struct {
		name       string
		status     int
		code       int
		msg        string
		header     http.Header
		want       Class
		retryAfter time.Duration
	}{
		{"invalid token 401", 401, 1000, "Invalid API Token", nil, ClassAuthentication, 0},
		{"invalid token 403", 403, 1000, "Invalid API Token", nil, ClassAuthentication, 0},
		{"missing credentials", 400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers", nil, ClassAuthentication, 0},
		{"malformed header", 400, 6003, "Invalid request headers", nil, ClassAuthentication, 0},
		{"permission", 403, 10000, "Authentication error", nil, ClassPermission, 0},
		{"ip restricted", 403, 9109, "Cannot use the access token from location: 198.51.100.7", nil, ClassIPRestricted, 0},
		{"no tokens write", 403, 9109, "Unauthorized to access requested resource", nil, ClassPermission, 0},
		{"unknown key", 403, 9103, "Unknown X-Auth-Key or X-Auth-Email", nil, ClassUnknownKey, 0},
		{"not found", 404, 7003, "Could not route to /user/tokens/x", nil, ClassNotFound, 0},
		{"token not found as Terraform's fixture answers it", 404, 1000, "Invalid API Token", nil, ClassNotFound, 0},
		{"invalid token 400", 400, 1000, "Invalid API Token", nil, ClassAuthentication, 0},
		{"code 1000 on a server error", 500, 1000, "Invalid API Token", nil, ClassTransient, 0},
		{"code 1000 on a conflict", 409, 1000, "Invalid API Token", nil, ClassTransient, 0},
		{"zone list refused with code 0", 403, 0, "Actor 'com.cloudflare.api.token.0123' requires permission " +
			"'com.cloudflare.api.account.zone.list' to list zones", nil, ClassPermission, 0},
		{"policy id on create", 400, 1001, "Reusing existing policies is not supported", nil, ClassInvalid, 0},
		{"unrecognised 4xx", 422, 1234, "Something Cloudflare added later", nil, ClassInvalid, 0},
		{"unrecognised 403", 403, 4321, "Forbidden for a new reason", nil, ClassPermission, 0},
		{"rate limited", 429, 971, "Please wait and consider throttling your request speed", retry, ClassRateLimited, 42 * time.Second},
		{"rate limited no header", 429, 971, "Please wait", nil, ClassRateLimited, defaultRetryAfter},
		{"quota by message, whatever the code", 400, 1005, "Token quota exceeded", nil, ClassQuota, 0},
		{"quota by message", 400, 1234, "You have reached the maximum number of tokens", nil, ClassQuota, 0},
		{"invalid request", 400, 6002, "name: too long", nil, ClassInvalid, 0},
		{"server error", 500, 10001, "Internal error", nil, ClassTransient, 0},
		{"bad gateway", 502, 0, "", nil, ClassTransient, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := envelopeServer(t, tc.status, tc.code, tc.msg, tc.header)
			c := testClient(t, srv.URL, OwnerUser, FactoryOptions{})
			_, err := c.GetToken(context.Background(), "abc123")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not a *cloudflare.Error", err, err)
			}
			if e.Class != tc.want {
				t.Fatalf("class = %s, want %s (%v)", e.Class, tc.want, err)
			}
			if e.HTTPStatus != tc.status {
				t.Errorf("HTTPStatus = %d, want %d", e.HTTPStatus, tc.status)
			}
			if len(e.Codes) != 1 || e.Codes[0] != tc.code {
				t.Errorf("Codes = %v, want [%d]", e.Codes, tc.code)
			}
			if want := strings.HasPrefix(tc.name, "unrecognised"); e.Unrecognised != want {
				t.Errorf("Unrecognised = %v, want %v (%v)", e.Unrecognised, want, err)
			}
			if e.Unrecognised && !strings.Contains(err.Error(), fmt.Sprintf("code %d", tc.code)) {
				t.Errorf("an unrecognised answer must show its code: %v", err)
			}
			if tc.code == 0 && tc.status == 403 && !strings.Contains(e.Message, `"Zone Read"`) {
				t.Errorf("a refused zone list must be explained as the missing Zone Read: %v", err)
			}
			if e.RetryAfter != tc.retryAfter {
				t.Errorf("RetryAfter = %s, want %s", e.RetryAfter, tc.retryAfter)
			}
			if strings.Contains(err.Error(), testParentToken) || strings.Contains(err.Error(), "Bearer") {
				t.Errorf("error text leaks the credential: %s", err)
			}
			if !strings.HasPrefix(err.Error(), "get token abc123: ") {
				t.Errorf("error text %q does not start with the operation", err)
			}
		})
	}
}

func TestClassificationScrubsEchoedCredential(t *testing.T) {
	srv, _ := envelopeServer(t, 400, 6003, "Invalid request headers: Bearer "+testParentToken, nil)
	c := testClient(t, srv.URL, OwnerUser, FactoryOptions{})
	_, err := c.Verify(context.Background())
	if err == nil || strings.Contains(err.Error(), testParentToken) {
		t.Fatalf("error %v leaks the credential echoed by the server", err)
	}
}

func TestTransportErrorsAreTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	c := testClient(t, url, OwnerUser, FactoryOptions{})
	_, err := c.ListTokens(context.Background())
	if ClassOf(err) != ClassTransient {
		t.Fatalf("got %v, want Transient", err)
	}
	if strings.Contains(err.Error(), testParentToken) {
		t.Fatalf("error leaks the credential: %v", err)
	}
}

func TestCanceledContextIsTransientAndUnwraps(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	c := testClient(t, srv.URL, OwnerUser, FactoryOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	go cancel()
	_, err := c.Verify(ctx)
	if ClassOf(err) != ClassTransient || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want Transient wrapping context.Canceled", err)
	}
}

func TestRequestTimeoutIsTransient(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := testClient(t, srv.URL, OwnerUser, FactoryOptions{RequestTimeout: 50 * time.Millisecond})
	_, err := c.Verify(context.Background())
	if ClassOf(err) != ClassTransient {
		t.Fatalf("got %v, want Transient", err)
	}
}

func Test429BlocksEveryClientOfTheCredential(t *testing.T) {
	srv, hits := envelopeServer(t, 429, 971, "Please wait", http.Header{"Retry-After": []string{"120"}})
	f := NewFactory(FactoryOptions{})
	cfg := Config{BaseURL: srv.URL, Credential: Credential{APIToken: NewSecret(testParentToken)}}
	a, _ := f.ClientFor(cfg)
	cfg.Owner, cfg.AccountID = OwnerAccount, "0123456789abcdef0123456789abcdef"
	b, _ := f.ClientFor(cfg)
	if _, err := a.ListTokens(context.Background()); ClassOf(err) != ClassRateLimited {
		t.Fatalf("first call: %v, want RateLimited", err)
	}
	_, err := b.ListTokens(context.Background())
	if ClassOf(err) != ClassRateLimited || RetryAfterOf(err) <= 100*time.Second {
		t.Fatalf("second client: %v (retry after %s), want RateLimited for about 120s", err, RetryAfterOf(err))
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("server saw %d requests, want 1: the block must stop the second client before the wire", n)
	}
}

// Both 404 shapes: the fake's own code, and 1000 "Invalid API Token" as Cloudflare's Terraform provider
// expects it. Either way the token is gone, and revoking it is done.
func TestDeleteOf404IsSuccess(t *testing.T) {
	for _, code := range []int{1003, 1000} {
		srv, _ := envelopeServer(t, 404, code, "Invalid API Token", nil)
		for _, owner := range []Owner{OwnerUser, OwnerAccount} {
			c := testClient(t, srv.URL, owner, FactoryOptions{})
			if err := c.DeleteToken(context.Background(), "abc123"); err != nil {
				t.Fatalf("%s, 404/%d: delete of a missing token: %v", owner, code, err)
			}
		}
	}
}

func TestMalformedTokenIDIsRefusedLocally(t *testing.T) {
	srv, hits := envelopeServer(t, 500, 0, "", nil)
	c := testClient(t, srv.URL, OwnerUser, FactoryOptions{})
	for _, id := range []string{"", "../zones", "a?b", "a/b"} {
		if err := c.DeleteToken(context.Background(), id); ClassOf(err) != ClassInvalid {
			t.Fatalf("DeleteToken(%q) = %v, want Invalid", id, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests went out for malformed ids", hits.Load())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := map[string]time.Duration{
		"30":                            30 * time.Second,
		"0":                             0,
		"1.5":                           1500 * time.Millisecond,
		"Wed, 02 Jan 2030 03:05:05 GMT": time.Minute,
	}
	for in, want := range cases {
		if got, ok := parseRetryAfter(in, now); !ok || got != want {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "soon", "-3"} {
		if _, ok := parseRetryAfter(in, now); ok {
			t.Errorf("parseRetryAfter(%q) accepted", in)
		}
	}
}
