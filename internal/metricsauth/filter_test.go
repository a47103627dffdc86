package metricsauth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	clocktesting "k8s.io/utils/clock/testing"
)

// countingReviewer answers from tables and counts the questions, as the API server would be asked them.
type countingReviewer struct {
	users        map[string]userInfo // token -> user
	allowed      map[string]bool     // user + " " + verb + " " + path
	fail         error
	authns, auth int
}

func (r *countingReviewer) authenticate(_ context.Context, token string) (identity, error) {
	r.authns++
	if r.fail != nil {
		return identity{}, r.fail
	}
	u, ok := r.users[token]
	return identity{authenticated: ok, user: u}, nil
}

func (r *countingReviewer) authorize(_ context.Context, user userInfo, verb, path string) (decision, error) {
	r.auth++
	if r.fail != nil {
		return decision{}, r.fail
	}
	return decision{allowed: r.allowed[user.Username+" "+verb+" "+path], reason: "table"}, nil
}

const promToken = "prom-token-0123456789"

func newTestGuard(t *testing.T) (*countingReviewer, *clocktesting.FakeClock, http.Handler, *string) {
	t.Helper()
	r := &countingReviewer{
		users:   map[string]userInfo{promToken: {Username: "system:serviceaccount:monitoring:prometheus"}, "other": {Username: "stranger"}},
		allowed: map[string]bool{"system:serviceaccount:monitoring:prometheus get /metrics": true},
	}
	clk := clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0))
	seenAuth := new(string)
	next := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		*seenAuth = req.Header.Get("Authorization")
		_, _ = io.WriteString(w, "metrics")
	})
	h, err := newGuard(r, clk).filter(logr.Discard(), next)
	if err != nil {
		t.Fatal(err)
	}
	return r, clk, h, seenAuth
}

func serve(h http.Handler, method, path, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestFilterAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, auth string
		want                     int
	}{
		{"no header", http.MethodGet, "/metrics", "", http.StatusUnauthorized},
		{"basic scheme", http.MethodGet, "/metrics", "Basic " + promToken, http.StatusUnauthorized},
		{"bearer without token", http.MethodGet, "/metrics", "Bearer", http.StatusUnauthorized},
		{"extra words", http.MethodGet, "/metrics", "Bearer " + promToken + " x", http.StatusUnauthorized},
		{"unknown token", http.MethodGet, "/metrics", "Bearer nobody", http.StatusUnauthorized},
		{"known user without the right", http.MethodGet, "/metrics", "Bearer other", http.StatusForbidden},
		{"right user, other path", http.MethodGet, "/debug/pprof/", "Bearer " + promToken, http.StatusForbidden},
		{"right user, other verb", http.MethodPost, "/metrics", "Bearer " + promToken, http.StatusForbidden},
		{"allowed", http.MethodGet, "/metrics", "Bearer " + promToken, http.StatusOK},
		{"scheme in another case", http.MethodGet, "/metrics", "bearer " + promToken, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, h, seen := newTestGuard(t)
			rec := serve(h, tc.method, tc.path, tc.auth)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.want, rec.Body.String())
			}
			if strings.Contains(rec.Body.String(), promToken) {
				t.Fatalf("the answer quotes the token: %q", rec.Body.String())
			}
			if tc.want == http.StatusOK && *seen != "" {
				t.Fatalf("the credential was handed to the metrics handler: %q", *seen)
			}
		})
	}
}

func TestFilterAnswers500WhenTheAPIServerCannotBeAsked(t *testing.T) {
	r, _, h, _ := newTestGuard(t)
	r.fail = errors.New("connection refused")
	if rec := serve(h, http.MethodGet, "/metrics", "Bearer "+promToken); rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	// A failed review is not remembered: once the API server answers, so does the endpoint.
	r.fail = nil
	if rec := serve(h, http.MethodGet, "/metrics", "Bearer "+promToken); rec.Code != http.StatusOK {
		t.Fatalf("status %d after recovery, want 200", rec.Code)
	}
}

func TestFilterCachesForTheAPIServersLifetimes(t *testing.T) {
	r, clk, h, _ := newTestGuard(t)
	for range 3 {
		if rec := serve(h, http.MethodGet, "/metrics", "Bearer "+promToken); rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
	}
	if r.authns != 1 || r.auth != 1 {
		t.Fatalf("3 scrapes asked %d TokenReviews and %d SubjectAccessReviews, want 1 and 1", r.authns, r.auth)
	}
	// The token is asked about again after a minute; the allow decision lasts five.
	clk.Step(authnTTL)
	serve(h, http.MethodGet, "/metrics", "Bearer "+promToken)
	if r.authns != 2 || r.auth != 1 {
		t.Fatalf("after %s: %d TokenReviews, %d SubjectAccessReviews; want 2 and 1", authnTTL, r.authns, r.auth)
	}
	// A binding removed at the API server stops access once the allow decision expires.
	delete(r.allowed, "system:serviceaccount:monitoring:prometheus get /metrics")
	clk.Step(allowTTL)
	if rec := serve(h, http.MethodGet, "/metrics", "Bearer "+promToken); rec.Code != http.StatusForbidden {
		t.Fatalf("status %d after the binding went, want 403", rec.Code)
	}
	// A denial is remembered for denyTTL only.
	r.allowed["system:serviceaccount:monitoring:prometheus get /metrics"] = true
	if rec := serve(h, http.MethodGet, "/metrics", "Bearer "+promToken); rec.Code != http.StatusForbidden {
		t.Fatalf("status %d within the deny lifetime, want 403 (cached)", rec.Code)
	}
	clk.Step(denyTTL)
	if rec := serve(h, http.MethodGet, "/metrics", "Bearer "+promToken); rec.Code != http.StatusOK {
		t.Fatalf("status %d after the deny lifetime, want 200", rec.Code)
	}
}

func TestCacheIsBoundedAndKeepsNoToken(t *testing.T) {
	g := newGuard(&countingReviewer{}, clocktesting.NewFakeClock(time.Unix(0, 0)))
	h, _ := g.filter(logr.Discard(), http.NotFoundHandler())
	for i := range 3 * maxCached {
		serve(h, http.MethodGet, "/metrics", "Bearer made-up-"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('A'+i/26%26))+string(rune('0'+i/676)))
	}
	serve(h, http.MethodGet, "/metrics", "Bearer "+promToken)
	g.users.mu.Lock()
	if n := len(g.users.entries); n > maxCached {
		t.Fatalf("%d cached identities, want at most %d", n, maxCached)
	}
	defer g.users.mu.Unlock()
	for k := range g.users.entries {
		if strings.Contains(k, promToken) || strings.Contains(k, "made-up") {
			t.Fatalf("a cache key holds the token: %q", k)
		}
	}
}
