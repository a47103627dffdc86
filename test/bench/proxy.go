package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// call is one Cloudflare request as the counting proxy saw it.
type call struct {
	at      time.Time
	end     time.Time // when the answer was written
	method  string
	route   string // path with ids replaced: "GET /accounts/{account_id}/tokens"
	account string // the credential's account ("" when the bearer is unknown)
	page    string // the page query parameter of a list ("" when absent)
	status  int
}

// countingProxy sits between the manager and the fake: it records, per request, the credential (by its
// bearer token), the route, the page of a list and the status, which the fake's own counters do not tell
// apart per credential.
type countingProxy struct {
	srv      *httptest.Server
	byBearer map[string]string // "Bearer <value>" -> account; values never leave the process

	mu    sync.Mutex
	calls []call
}

func newCountingProxy(target string, bearers map[string]string) *countingProxy {
	u, _ := url.Parse(target)
	p := &countingProxy{byBearer: map[string]string{}}
	for value, acct := range bearers {
		p.byBearer["Bearer "+value] = acct
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		c := call{at: time.Now(), method: r.Method, route: r.Method + " " + normalizeRoute(r.URL.Path),
			account: p.byBearer[r.Header.Get("Authorization")], page: r.URL.Query().Get("page")}
		rp.ServeHTTP(rec, r)
		c.status, c.end = rec.status, time.Now()
		p.mu.Lock()
		p.calls = append(p.calls, c)
		p.mu.Unlock()
	}))
	return p
}

// URL is the proxy's base URL with the fake's path (…/client/v4).
func (p *countingProxy) URL(fakeURL string) string {
	u, _ := url.Parse(fakeURL)
	return p.srv.URL + u.Path
}

func (p *countingProxy) Close() { p.srv.Close() }

// mark is a position in the call log.
func (p *countingProxy) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

// since returns the calls recorded after mark.
func (p *countingProxy) since(mark int) []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]call(nil), p.calls[mark:]...)
}

func (p *countingProxy) all() []call { return p.since(0) }

// lastCall is when the last request arrived (zero when none did).
func (p *countingProxy) lastCall() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) == 0 {
		return time.Time{}
	}
	return p.calls[len(p.calls)-1].at
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// normalizeRoute turns /client/v4/accounts/abc/tokens/def into /accounts/{account_id}/tokens/{token_id}.
func normalizeRoute(path string) string {
	path = strings.TrimPrefix(path, "/client/v4")
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := 1; i < len(segs); i++ {
		switch segs[i-1] {
		case "accounts":
			segs[i] = "{account_id}"
		case "zones":
			segs[i] = "{zone_id}"
		case "tokens":
			if segs[i] != "verify" && segs[i] != "permission_groups" {
				segs[i] = "{token_id}"
			}
		}
	}
	return "/" + strings.Join(segs, "/")
}

// callSummary counts a slice of calls.
type callSummary struct {
	total, creates, deletes, lists, other, status429 int
	sweeps                                           int // lists that asked for the first page
	byRoute                                          map[string]int
}

func summarize(calls []call) callSummary {
	s := callSummary{byRoute: map[string]int{}}
	for _, c := range calls {
		s.total++
		s.byRoute[c.route]++
		if c.status == http.StatusTooManyRequests {
			s.status429++
		}
		switch {
		case c.method == http.MethodPost && isTokensCollection(c.route):
			s.creates++
		case c.method == http.MethodDelete && strings.HasSuffix(c.route, "/tokens/{token_id}"):
			s.deletes++
		case c.method == http.MethodGet && isTokensCollection(c.route):
			s.lists++
			if c.page == "" || c.page == "1" {
				s.sweeps++
			}
		default:
			s.other++
		}
	}
	return s
}

func isTokensCollection(route string) bool {
	return strings.HasSuffix(route, "/accounts/{account_id}/tokens") || strings.HasSuffix(route, "/user/tokens")
}

// routesText lists the routes of a summary, most called first.
func (s callSummary) routesText() string {
	type kv struct {
		k string
		v int
	}
	rows := make([]kv, 0, len(s.byRoute))
	for k, v := range s.byRoute {
		rows = append(rows, kv{k, v})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].v != rows[j].v {
			return rows[i].v > rows[j].v
		}
		return rows[i].k < rows[j].k
	})
	parts := make([]string, 0, len(rows))
	for _, r := range rows {
		parts = append(parts, r.k+" ×"+itoa(r.v))
	}
	return strings.Join(parts, ", ")
}
