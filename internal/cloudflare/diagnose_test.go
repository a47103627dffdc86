package cloudflare

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr/funcr"
)

// routeServer answers each "METHOD path" with its handler and counts requests per route; anything else 500.
func routeServer(t *testing.T, routes map[string]http.HandlerFunc) (*httptest.Server, map[string]*atomic.Int32) {
	t.Helper()
	hits := map[string]*atomic.Int32{}
	for k := range routes {
		hits[k] = &atomic.Int32{}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		h, ok := routes[key]
		if !ok {
			cfError(w, 500, 10001, "unexpected "+key)
			return
		}
		hits[key].Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, hits
}

func cfError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"success":false,"errors":[{"code":%d,"message":%q}],"messages":[],"result":null}`, code, msg)
}

func cfOK(w http.ResponseWriter, result any, extra string) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(result)
	_, _ = fmt.Fprintf(w, `{"success":true,"errors":[],"messages":[],"result":%s%s}`, b, extra)
}

func answer(status, code int, msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { cfError(w, status, code, msg) }
}

// tokenList answers a token list holding n tokens, on one page.
func tokenList(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		toks := make([]map[string]any, n)
		for i := range toks {
			toks[i] = map[string]any{"id": fmt.Sprintf("t%d", i), "name": fmt.Sprintf("t%d", i), "status": "active"}
		}
		cfOK(w, toks, fmt.Sprintf(`,"result_info":{"page":1,"per_page":50,"count":%d,"total_count":%d,"total_pages":1}`, n, n))
	}
}

func spec() TokenSpec {
	return TokenSpec{Name: "t", Policies: []Policy{{Effect: EffectAllow, PermissionGroupIDs: []string{"g"},
		Resources: map[string]any{ZoneResource("z"): "*"}}}}
}

// A 403 with code 10000 on a create is checked by one verification: a dead credential is an authentication
// problem, a live one really lacks the permission.
func TestDeniedCreateVerifiesTheCredentialOnce(t *testing.T) {
	cases := []struct {
		name   string
		verify http.HandlerFunc
		want   Class
	}{
		{"dead credential", answer(401, 1000, "Invalid API Token"), ClassAuthentication},
		{"live credential", func(w http.ResponseWriter, _ *http.Request) {
			cfOK(w, map[string]any{"id": "p", "status": "active"}, "")
		}, ClassPermission},
		{"verification fails for another reason", answer(503, 0, "Service Unavailable"), ClassPermission},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, hits := routeServer(t, map[string]http.HandlerFunc{
				"POST /user/tokens":       answer(403, 10000, "Authentication error"),
				"GET /user/tokens/verify": tc.verify,
			})
			_, _, err := testClient(t, srv.URL, OwnerUser, FactoryOptions{}).CreateToken(context.Background(), spec())
			if ClassOf(err) != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
			if n := hits["GET /user/tokens/verify"].Load(); n != 1 {
				t.Fatalf("%d verifications, want 1", n)
			}
			if tc.want == ClassAuthentication && !strings.Contains(err.Error(), "verifying the parent credential failed") {
				t.Fatalf("message does not say the credential failed verification: %v", err)
			}
		})
	}
}

// A create refused with a code nobody documented is the quota when the owner is at it, and stays an invalid
// request when it is not.
func TestUnrecognisedCreateRefusalAtTheQuotaIsQuota(t *testing.T) {
	for _, tc := range []struct {
		held int
		want Class
	}{{49, ClassQuota}, {50, ClassQuota}, {48, ClassInvalid}} {
		t.Run(fmt.Sprint(tc.held), func(t *testing.T) {
			srv, _ := routeServer(t, map[string]http.HandlerFunc{
				"POST /user/tokens": answer(400, 1399, "Request refused"),
				"GET /user/tokens":  tokenList(tc.held),
			})
			_, _, err := testClient(t, srv.URL, OwnerUser, FactoryOptions{}).CreateToken(context.Background(), spec())
			if ClassOf(err) != tc.want {
				t.Fatalf("holding %d: got %v, want %s", tc.held, err, tc.want)
			}
			if !strings.Contains(err.Error(), "code 1399") {
				t.Fatalf("the code is not in the message: %v", err)
			}
		})
	}
}

// A recognised refusal never costs a list.
func TestRecognisedCreateRefusalCostsNoList(t *testing.T) {
	srv, hits := routeServer(t, map[string]http.HandlerFunc{
		"POST /user/tokens": answer(400, 6002, "name: too long"),
		"GET /user/tokens":  tokenList(49),
	})
	_, _, err := testClient(t, srv.URL, OwnerUser, FactoryOptions{}).CreateToken(context.Background(), spec())
	if ClassOf(err) != ClassInvalid || hits["GET /user/tokens"].Load() != 0 {
		t.Fatalf("got %v after %d lists, want InvalidRequest and no list", err, hits["GET /user/tokens"].Load())
	}
}

func TestUnrecognisedErrorIsLoggedOnceWithStatusCodeAndMessage(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	log := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, args)
	}, funcr.Options{})
	srv, _ := envelopeServer(t, 418, 7777, "I'm a teapot, Bearer "+testParentToken, nil)
	c := testClient(t, srv.URL, OwnerUser, FactoryOptions{Log: log})
	for _, id := range []string{"aaa", "bbb", "ccc"} {
		if _, err := c.GetToken(context.Background(), id); ClassOf(err) != ClassInvalid {
			t.Fatalf("got %v, want InvalidRequest", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1: %q", len(lines), lines)
	}
	for _, want := range []string{`"httpStatus"=418`, `"codes"=[7777]`, "teapot", `"operation"="get token"`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line %s lacks %s", lines[0], want)
		}
	}
	if strings.Contains(lines[0], testParentToken) {
		t.Fatalf("log line leaks the credential: %s", lines[0])
	}
}

// request_ip goes out as CIDRs only, and a policy never carries an id.
func TestCreateSendsCIDRsAndNoPolicyID(t *testing.T) {
	var body []byte
	srv, hits := routeServer(t, map[string]http.HandlerFunc{
		"POST /user/tokens": func(w http.ResponseWriter, r *http.Request) {
			body, _ = io.ReadAll(r.Body)
			cfOK(w, map[string]any{"id": "n", "name": "t", "status": "active", "value": "cfut_x"}, "")
		},
	})
	c := testClient(t, srv.URL, OwnerUser, FactoryOptions{})
	s := spec()
	s.RequestIP = RequestIP{In: []string{"203.0.113.7", "198.51.100.0/24"}, NotIn: []string{"2001:db8::1", "::ffff:192.0.2.1"}}
	if _, _, err := c.CreateToken(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Policies  []map[string]any `json:"policies"`
		Condition struct {
			RequestIP struct {
				In    []string `json:"in"`
				NotIn []string `json:"not_in"`
			} `json:"request_ip"`
		} `json:"condition"`
	}
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	ip := sent.Condition.RequestIP
	if fmt.Sprint(ip.In) != "[203.0.113.7/32 198.51.100.0/24]" || fmt.Sprint(ip.NotIn) != "[2001:db8::1/128 192.0.2.1/32]" {
		t.Fatalf("request_ip sent as %v / %v", ip.In, ip.NotIn)
	}
	for _, p := range sent.Policies {
		if _, ok := p["id"]; ok {
			t.Fatalf("a policy went out with an id: %s", body)
		}
	}
	s.RequestIP = RequestIP{In: []string{"not-an-ip"}}
	_, _, err := c.CreateToken(context.Background(), s)
	if ClassOf(err) != ClassInvalid || !strings.Contains(err.Error(), `request_ip.in[0]: "not-an-ip"`) {
		t.Fatalf("got %v, want InvalidRequest naming request_ip.in[0]", err)
	}
	if n := hits["POST /user/tokens"].Load(); n != 1 {
		t.Fatalf("%d creates reached the server, want 1", n)
	}
}
