package faults_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/observe"
	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil/window"
)

// trace (FAULTS_TRACE=1) prints every write and Cloudflare request the managers make.
var trace = os.Getenv("FAULTS_TRACE") != ""

// errKilled is what a killed manager's calls return: the process is gone, nothing it does reaches the
// API server or Cloudflare any more.
var errKilled = errors.New("manager killed")

// harness is one spec's world: a fake Cloudflare API, the managers running against it, the trap that
// kills a manager at a chosen step, and a record of every Cloudflare request the managers made.
type harness struct {
	fake        *cloudflaretest.Server
	clusterName string
	// cfg is the controller configuration every manager of this harness gets (HTTPClient is per manager).
	cfg controller.Config
	obs *countingObserver

	mu       sync.Mutex
	managers []*manager
	trap     *trap
	requests []request
}

// request is one Cloudflare request a manager made, as its HTTP client saw it.
type request struct {
	at         time.Time
	credential string // hash of the credential header
	method     string
	path       string // below /client/v4, ids kept
	page       string
	status     int
}

func newHarness(cluster string, budget int, opts ...cloudflaretest.Option) *harness {
	h := &harness{fake: cloudflaretest.NewServer(opts...), clusterName: cluster, obs: newCountingObserver()}
	h.cfg = controller.Config{
		CloudflareAPIURL:        h.fake.URL(),
		ClusterName:             cluster,
		OperatorNamespace:       operatorNamespace,
		APIRequestsPer5m:        budget,
		DriftInterval:           2 * time.Second,
		OrphanGrace:             time.Second,
		MaxConcurrentReconciles: 8,
		Observer:                h.obs,
	}
	DeferCleanup(func() {
		h.stopAll()
		h.fake.Close()
	})
	return h
}

// manager is one running manager process.
type manager struct {
	name string
	h    *harness
	dead chan struct{}
	once sync.Once
	mgr  *testutil.Manager
	http *http.Transport
}

// kill stops the manager as SIGKILL would: from this moment no call of it reaches the API server or
// Cloudflare; its goroutines drain in the background.
func (m *manager) kill() {
	m.once.Do(func() {
		close(m.dead)
		m.mgr.Cancel()
	})
}

// killAndWait kills and waits until the manager's goroutines are gone.
func (m *manager) killAndWait() {
	m.kill()
	Eventually(m.mgr.Done(), 30*time.Second).Should(BeClosed())
	m.http.CloseIdleConnections()
}

func (m *manager) isDead() bool {
	select {
	case <-m.dead:
		return true
	default:
		return false
	}
}

// elected is closed once the manager leads (at once without leader election).
func (m *manager) elected() <-chan struct{} { return m.mgr.Elected() }

type managerOptions struct {
	leaderElection bool
}

// start runs a new manager with the harness's configuration, its writes and Cloudflare calls going through
// the trap.
func (h *harness) start(name string, mo ...managerOptions) *manager {
	var o managerOptions
	if len(mo) > 0 {
		o = mo[0]
	}
	m := &manager{name: name, h: h, dead: make(chan struct{})}
	opts := testutil.ManagerOptions(scheme, m.interceptor)
	opts.GracefulShutdownTimeout = ptr.To(10 * time.Second)
	if o.leaderElection {
		opts.LeaderElection = true
		opts.LeaderElectionID = "faults-" + h.clusterName
		opts.LeaderElectionNamespace = operatorNamespace
		opts.LeaseDuration = ptr.To(2 * time.Second)
		opts.RenewDeadline = ptr.To(1500 * time.Millisecond)
		opts.RetryPeriod = ptr.To(250 * time.Millisecond)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	m.http = tr
	ccfg := h.cfg
	ccfg.HTTPClient = &http.Client{Transport: &cfTransport{m: m, base: tr}}
	cfg := rest.CopyConfig(restCfg)
	cfg.QPS, cfg.Burst = 200, 400
	var err error
	// Made before it runs: a trap may kill the manager from its first call.
	m.mgr, err = testutil.NewManager(suiteCtx, cfg, opts, ccfg)
	Expect(err).NotTo(HaveOccurred())
	m.mgr.Run(func(err error) {
		defer GinkgoRecover()
		if err != nil && !m.isDead() {
			Fail(fmt.Sprintf("manager %s: %v", name, err))
		}
	})
	h.mu.Lock()
	h.managers = append(h.managers, m)
	h.mu.Unlock()
	return m
}

func (h *harness) stopAll() {
	h.mu.Lock()
	ms := append([]*manager(nil), h.managers...)
	h.mu.Unlock()
	for _, m := range ms {
		m.killAndWait()
	}
}

// event is a call a manager made that succeeded: a write to the API server, or a Cloudflare request.
type event struct {
	// API server writes: verb is create, update, patch, delete or status.
	verb string
	obj  client.Object
	// Cloudflare requests: method, path below /client/v4, and the name of the token created or deleted.
	method, path, tokenName string
}

func (e event) String() string {
	if e.verb != "" {
		return fmt.Sprintf("%s %T %s/%s", e.verb, e.obj, e.obj.GetNamespace(), e.obj.GetName())
	}
	return fmt.Sprintf("%s %s (%s)", e.method, e.path, e.tokenName)
}

// trap kills the manager whose calls match, once want calls have matched. Each matching call has already
// taken effect (the write is stored, Cloudflare answered) and then hangs until the kill, so that the
// process dies right after that step, with want resources caught there.
type trap struct {
	match  func(e event) bool
	want   int
	hits   []string
	fired  chan struct{}
	victim *manager
}

// arm sets a trap; only one is armed at a time.
func (h *harness) arm(want int, match func(e event) bool) *trap {
	t := &trap{match: match, want: want, fired: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.trap = t
	return t
}

// caught says whether the call is caught by the armed trap; the caller then hangs until its manager dies.
func (h *harness) caught(m *manager, e event) bool {
	h.mu.Lock()
	t := h.trap
	if t == nil || len(t.hits) >= t.want || !t.match(e) {
		h.mu.Unlock()
		return false
	}
	t.hits = append(t.hits, e.String())
	full := len(t.hits) == t.want
	if full {
		t.victim = m
		h.trap = nil
	}
	h.mu.Unlock()
	if full {
		m.kill()
		close(t.fired)
	}
	return true
}

// afterCall is the tail of every intercepted call: a dead manager's call fails; a caught one hangs until
// the kill and then fails, as the call after it would in a dead process.
func (m *manager) afterCall(err error, e event) error {
	if trace {
		GinkgoWriter.Printf("TRACE %s %s %s err=%v\n", time.Now().Format("15:04:05.000"), m.name, e, err)
	}
	if err != nil {
		return err
	}
	if m.h.caught(m, e) {
		<-m.dead
		return errKilled
	}
	return nil
}

func (m *manager) interceptor() interceptor.Funcs {
	return interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if m.isDead() {
				return errKilled
			}
			return m.afterCall(c.Create(ctx, obj, opts...), event{verb: "create", obj: obj})
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if m.isDead() {
				return errKilled
			}
			return m.afterCall(c.Update(ctx, obj, opts...), event{verb: "update", obj: obj})
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			if m.isDead() {
				return errKilled
			}
			return m.afterCall(c.Patch(ctx, obj, p, opts...), event{verb: "patch", obj: obj})
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			if m.isDead() {
				return errKilled
			}
			return m.afterCall(c.Delete(ctx, obj, opts...), event{verb: "delete", obj: obj})
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			if m.isDead() {
				return errKilled
			}
			return c.DeleteAllOf(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			if m.isDead() {
				return errKilled
			}
			return m.afterCall(c.SubResource(sub).Patch(ctx, obj, p, opts...), event{verb: "status", obj: obj})
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			if m.isDead() {
				return errKilled
			}
			return m.afterCall(c.SubResource(sub).Update(ctx, obj, opts...), event{verb: "status", obj: obj})
		},
	}
}

// cfTransport carries a manager's Cloudflare requests: it records them, fails them once the manager is
// dead, and lets the trap catch them after Cloudflare answered.
type cfTransport struct {
	m    *manager
	base http.RoundTripper
}

func (t *cfTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.m.isDead() {
		return nil, errKilled
	}
	h := t.m.h
	path := strings.TrimPrefix(req.URL.Path, cloudflaretest.BasePath)
	e := event{method: req.Method, path: path}
	switch {
	case req.Method == http.MethodPost && strings.HasSuffix(path, "/tokens") && req.Body != nil:
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
		var spec struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(body, &spec)
		e.tokenName = spec.Name
	case req.Method == http.MethodDelete && strings.Contains(path, "/tokens/"):
		if info, ok := h.fake.Token(path[strings.LastIndex(path, "/")+1:]); ok {
			e.tokenName = info.Name
		}
	}
	resp, err := t.base.RoundTrip(req)
	r := request{at: time.Now(), credential: credentialOf(req), method: req.Method, path: path, page: req.URL.Query().Get("page")}
	if err == nil {
		r.status = resp.StatusCode
	}
	h.mu.Lock()
	h.requests = append(h.requests, r)
	h.mu.Unlock()
	if err != nil || resp.StatusCode >= 300 {
		return resp, err
	}
	if err := t.m.afterCall(nil, e); err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

func credentialOf(req *http.Request) string {
	v := req.Header.Get("Authorization") + req.Header.Get("X-Auth-Key")
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:4])
}

// requestsSince are the recorded requests at or after t.
func (h *harness) requestsSince(t time.Time) []request {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []request
	for _, r := range h.requests {
		if !r.at.Before(t) {
			out = append(out, r)
		}
	}
	return out
}

// maxPerCredential is the most requests of one credential in any window of this length, per credential.
func maxPerCredential(reqs []request, width time.Duration) map[string]int {
	return window.MaxInBy(reqs, width, func(r request) string { return r.credential }, func(r request) time.Time { return r.at })
}

// countStatus counts requests with this HTTP status.
func countStatus(reqs []request, status int) int {
	n := 0
	for _, r := range reqs {
		if r.status == status {
			n++
		}
	}
	return n
}

// routeCounts summarises requests as "METHOD route: n", ids replaced by placeholders, sorted.
func routeCounts(reqs []request) string {
	counts := map[string]int{}
	for _, r := range reqs {
		counts[r.method+" "+routeOf(r.path)]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

func routeOf(path string) string {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range seg {
		if i > 0 && (seg[i-1] == "accounts" || seg[i-1] == "tokens" || seg[i-1] == "zones") && s != "verify" && s != "permission_groups" {
			seg[i] = "{" + strings.TrimSuffix(seg[i-1], "s") + "_id}"
		}
	}
	return "/" + strings.Join(seg, "/")
}

// countingObserver counts what the controllers report.
type countingObserver struct {
	mu               sync.Mutex
	minted           map[string]int
	revoked          map[string]int
	failed           map[string]int
	revocationFailed atomic.Int64
}

func newCountingObserver() *countingObserver {
	return &countingObserver{minted: map[string]int{}, revoked: map[string]int{}, failed: map[string]int{}}
}

func (o *countingObserver) TokenObserved(string, string, string, time.Time, time.Time, time.Time) {}
func (o *countingObserver) TokenForgotten(string, string)                                         {}
func (o *countingObserver) IssuerQuota(string, int, int)                                          {}
func (o *countingObserver) CredentialExpiry(string, time.Time)                                    {}
func (o *countingObserver) Minted(_ string, reason observe.MintReason) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.minted[string(reason)]++
}
func (o *countingObserver) Failed(_, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed[reason]++
}
func (o *countingObserver) RevocationFailed(string) { o.revocationFailed.Add(1) }
func (o *countingObserver) Revoked(_, why string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.revoked[why]++
}

func (o *countingObserver) snapshot() (minted, revoked, failed map[string]int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	cp := func(m map[string]int) map[string]int {
		out := make(map[string]int, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	return cp(o.minted), cp(o.revoked), cp(o.failed)
}
