// Command bench measures the operator against Cloudflare's limits in one run (`make bench`): a real
// kube-apiserver and etcd (envtest), the in-memory fake Cloudflare API with a set latency behind a counting
// proxy, and bin/manager as its own process. It prints a table and writes BENCHMARKS.md.
//
// Phases, in order: Go micro-benchmarks; 2,000 unrelated 1 MiB Secrets; the manager starts; 60 Secrets of
// 900 KiB that a tenant labels as the operator's (RSS growth, then deleted); single
// resources and a burst of 50 for latency (then deleted); 500 account-owned tokens at once (calls per mint,
// latency, throughput); a manager restart (calls, one drift sweep per credential); a forced rotation of all
// 500 (calls per rotation). Memory and CPU of each manager process come from /proc.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster"
	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil/window"
)

const (
	operatorNamespace = "cloudflare-token-operator"
	benchNamespace    = "bench"
	blobNamespace     = "unrelated"
	zonesPerAccount   = 5
	listPageSize      = 50 // Cloudflare's default page, as the operator asks for it
)

var accounts = []string{"0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"}

type options struct {
	latency    time.Duration
	tokens     int
	singles    int
	burst      int
	secrets    int
	secretSize int
	// hostileSecrets / hostileSize: Secrets a tenant labels as the operator's (hostileLabels).
	hostileSecrets, hostileSize int
	budget                      int
	etcdQuota                   int64
	out                         string
	logDir                      string
	micro                       bool
	benchtime                   string
	readyTimeout                time.Duration
	concurrency                 int
}

func main() {
	var o options
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "latency of every fake Cloudflare API answer")
	flag.IntVar(&o.tokens, "tokens", 500, "account-owned CloudflareTokens, split evenly over the two accounts")
	flag.IntVar(&o.singles, "singles", 10, "single resources created one at a time (latency at 1)")
	flag.IntVar(&o.burst, "burst", 50, "resources created at once for the middle latency figure")
	flag.IntVar(&o.secrets, "secrets", 2000, "unrelated Secrets in the cluster")
	flag.IntVar(&o.secretSize, "secret-size", 1<<20, "bytes of data in each unrelated Secret")
	flag.IntVar(&o.hostileSecrets, "hostile-secrets", 60, "Secrets a tenant labels as the operator's (0: skip the phase)")
	flag.IntVar(&o.hostileSize, "hostile-secret-size", 900<<10, "bytes of data in each of them")
	flag.IntVar(&o.budget, "api-requests-per-5m", 1000, "the manager's --api-requests-per-5m")
	flag.Int64Var(&o.etcdQuota, "etcd-quota-bytes", 8<<30, "etcd --quota-backend-bytes")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "the note to write (\"\" writes none)")
	flag.StringVar(&o.logDir, "log-dir", "bin/bench", "where the manager, etcd and kube-apiserver logs go")
	flag.BoolVar(&o.micro, "micro", true, "run the Go micro-benchmarks first")
	flag.StringVar(&o.benchtime, "benchtime", "1s", "go test -benchtime of the micro-benchmarks")
	flag.DurationVar(&o.readyTimeout, "ready-timeout", 3*time.Minute, "how long a phase may take before the run fails")
	flag.IntVar(&o.concurrency, "client-concurrency", 16, "concurrent create/patch calls of the harness")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// machine describes where and when the run happened.
type machine struct {
	date, goVersion, apiserverVersion, etcdVersion, kernel string
	nproc                                                  int
	memTotal                                               string
	loadStart, loadEnd, loadMax                            string
	busyStart                                              string
}

// results are the figures of one run.
type results struct {
	o           options
	m           machine
	micro       []microResult
	blobs       time.Duration
	singles     []time.Duration
	single1     callSummary
	singleTrace []string

	burst, mass          []time.Duration
	burstWall, massWall  time.Duration
	burstCalls           callSummary
	mintCalls            callSummary
	restartCalls         callSummary
	restartWait          time.Duration
	restartByAccount     map[string]callSummary
	heldAtRestart        map[string]int
	rotation             []time.Duration
	rotationWall         time.Duration
	rotationCalls        callSummary
	managers             []managerRun
	idleRSSKiB           int64
	hostileBeforeKiB     int64
	hostileAfterKiB      int64
	maxWindowAll         int
	maxWindowByAccount   map[string]int
	total429, totalCalls int
	fakeRoutes           map[string]int
}

type managerRun struct {
	name string
	proc procSample
	wall time.Duration
}

// bench is one run's state: the cluster, the fake, the proxy, the watch and the manager process.
type bench struct {
	o          options
	r          *results
	root       string
	managerBin string
	kubeconfig string
	k8s        client.Client
	cs         kubernetes.Interface
	fake       *cloudflaretest.Server
	proxy      *countingProxy
	trk        *tracker
	mgr        *localcluster.Manager
	smp        *sampler
	mgrStart   time.Time
	mass       []string
	restCfg    *rest.Config
}

func run(ctx context.Context, o options) (err error) {
	root, err := localcluster.RepoRoot()
	if err != nil {
		return err
	}
	if !filepath.IsAbs(o.logDir) {
		o.logDir = filepath.Join(root, o.logDir)
	}
	if err := os.MkdirAll(o.logDir, 0o755); err != nil {
		return err
	}
	b := &bench{o: o, r: &results{o: o}, root: root, managerBin: filepath.Join(root, "bin", "manager")}
	b.r.m = describeMachine()
	stopLoad := b.r.m.watchLoad()
	defer stopLoad()
	say("machine: %d cores, %s memory, load %s; busiest processes: %s", b.r.m.nproc, b.r.m.memTotal, b.r.m.loadStart, b.r.m.busyStart)

	if o.micro {
		say("go test -bench (micro-benchmarks, -benchtime %s)", o.benchtime)
		if b.r.micro, _, err = runMicro(ctx, root, o.benchtime); err != nil {
			return err
		}
	}
	say("go build -o bin/manager ./cmd")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", b.managerBin, "./cmd").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd: %w\n%s", err, out)
	}

	stopControlPlane, err := b.startControlPlane()
	if err != nil {
		return err
	}
	defer stopControlPlane()
	b.startFake()
	defer b.fake.Close()
	defer b.proxy.Close()
	defer func() {
		if b.mgr != nil {
			_ = b.mgr.Stop(10 * time.Second)
		}
	}()

	for _, phase := range []func(context.Context) error{
		b.populate, b.startFirstManager, b.hostileLabels, b.latencyAtOne, b.latencyBurst, b.mint, b.restart, b.rotate,
	} {
		if err := phase(ctx); err != nil {
			if b.mgr != nil {
				err = fmt.Errorf("%w\nlast lines of %s:\n%s", err, b.mgr.LogPath, b.mgr.Tail(30))
			}
			return err
		}
	}
	b.tally()

	table := b.r.table()
	fmt.Println()
	fmt.Print(table)
	if o.out != "" {
		path := o.out
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		if err := os.WriteFile(path, []byte(b.r.markdown(table)), 0o644); err != nil {
			return err
		}
		say("wrote %s", path)
	}
	return nil
}

// startControlPlane starts envtest's kube-apiserver and etcd, with room in etcd for the unrelated Secrets
// and their logs in the log directory, and returns how to stop them.
func (b *bench) startControlPlane() (func(), error) {
	assets, err := testutil.AssetsDir()
	if err != nil {
		return nil, err
	}
	b.r.m.apiserverVersion = firstLine(exec.Command(filepath.Join(assets, "kube-apiserver"), "--version").Output())
	b.r.m.etcdVersion = firstLine(exec.Command(filepath.Join(assets, "etcd"), "--version").Output())
	etcd := &envtest.Etcd{}
	etcd.Configure().Set("quota-backend-bytes", strconv.FormatInt(b.o.etcdQuota, 10))
	apiServer := &envtest.APIServer{}
	var logs []*os.File
	closeLogs := func() {
		for _, f := range logs {
			_ = f.Close()
		}
	}
	for _, p := range []struct {
		name     string
		out, err *io.Writer
	}{{"kube-apiserver.log", &apiServer.Out, &apiServer.Err}, {"etcd.log", &etcd.Out, &etcd.Err}} {
		f, err := os.Create(filepath.Join(b.o.logDir, p.name))
		if err != nil {
			closeLogs()
			return nil, err
		}
		logs = append(logs, f)
		*p.out, *p.err = f, f
	}
	say("starting kube-apiserver and etcd (%s)", assets)
	env, err := testutil.StartEnv(func(env *envtest.Environment) {
		env.ControlPlane.Etcd, env.ControlPlane.APIServer = etcd, apiServer
		env.ControlPlaneStartTimeout = 2 * time.Minute
		env.ControlPlaneStopTimeout = 2 * time.Minute
	})
	if err != nil {
		closeLogs()
		return nil, err
	}
	stop := func() {
		if serr := env.Stop(); serr != nil {
			say("warning: stopping kube-apiserver and etcd: %v", serr)
		}
		closeLogs()
	}
	cfg := env.Config
	cfg.QPS, cfg.Burst = 500, 1000
	if b.k8s, err = env.NewClient(nil); err == nil {
		b.cs, err = kubernetes.NewForConfig(cfg)
	}
	if err == nil {
		b.kubeconfig = filepath.Join(b.o.logDir, "kubeconfig")
		err = os.WriteFile(b.kubeconfig, env.KubeConfig, 0o600)
	}
	if err == nil {
		b.trk, err = newTracker(context.Background(), cfg, env.Scheme, benchNamespace)
	}
	b.restCfg = cfg
	if err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// startFake starts the fake Cloudflare API (two accounts of five zones, the set latency) and the counting
// proxy in front of it.
func (b *bench) startFake() {
	opts := make([]cloudflaretest.Option, 0, 1+len(accounts))
	opts = append(opts, cloudflaretest.WithAccounts(accounts...))
	for i, a := range accounts {
		zones := make([]string, 0, zonesPerAccount)
		for z := range zonesPerAccount {
			zones = append(zones, zoneName(i, z))
		}
		opts = append(opts, cloudflaretest.WithZones(a, zones...))
	}
	b.fake = cloudflaretest.NewServer(opts...)
	b.fake.SetLatency(b.o.latency)
	bearers := map[string]string{}
	for _, a := range accounts {
		bearers[b.fake.AccountParentToken(a)] = a
	}
	b.proxy = newCountingProxy(b.fake.URL(), bearers)
}

// populate creates the namespaces, the unrelated Secrets (before any manager runs) and the issuers: one per
// account, account-owned tokens, each with its account's parent token.
func (b *bench) populate(ctx context.Context) error {
	for _, ns := range []string{operatorNamespace, benchNamespace, blobNamespace} {
		if err := b.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	if b.o.secrets > 0 {
		say("creating %d unrelated Secrets of %d KiB", b.o.secrets, b.o.secretSize>>10)
		start := time.Now()
		if err := createBlobs(ctx, b.restCfg, b.o); err != nil {
			return err
		}
		b.r.blobs = time.Since(start)
		say("  done in %s", b.r.blobs.Round(time.Millisecond))
	}
	for i, a := range accounts {
		name := issuerName(i)
		if err := b.k8s.Create(ctx, testutil.ParentSecret(operatorNamespace, "cf-parent-"+name, b.fake.AccountParentToken(a))); err != nil {
			return err
		}
		iss := testutil.OpenClusterIssuer(name, "cf-parent-"+name, a, cfv1.TokenOwnerAccount)
		iss.Spec.AllowedPermissions = []string{"Zone Read", "DNS Write"}
		if err := b.k8s.Create(ctx, iss); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) startFirstManager(ctx context.Context) error {
	if err := b.startManager(ctx, "manager-1"); err != nil {
		return err
	}
	for i := range accounts {
		if err := waitIssuerReady(ctx, b.k8s, issuerName(i), time.Minute); err != nil {
			return err
		}
	}
	// The footprint before any CloudflareToken exists: the runtime, the clients and the caches, with the
	// unrelated Secrets in the cluster.
	time.Sleep(2 * time.Second)
	if s, err := readProc(b.mgr.Pid()); err == nil {
		b.r.idleRSSKiB = s.rssKiB
	}
	return nil
}

// latencyAtOne creates single resources one after another, alternating accounts, all on each account's
// first zone (so that after the first of each account the zone is known).
func (b *bench) latencyAtOne(ctx context.Context) error {
	say("latency at 1: %d single resources, one at a time", b.o.singles)
	r := b.r
	mark := b.proxy.mark()
	for i := range b.o.singles {
		name := fmt.Sprintf("single-%02d", i)
		m := b.proxy.mark()
		conflicts0 := apiConflicts(ctx, b.cs)
		if err := createTokens(ctx, b.k8s, b.trk, []tokenSpec{{name, i % len(accounts), 0}}, 1); err != nil {
			return err
		}
		d, first, last, err := b.trk.wait(ctx, []string{name}, b.o.readyTimeout)
		if err != nil {
			return fmt.Errorf("latency at 1: %w", err)
		}
		r.singles = append(r.singles, d[0])
		r.singleTrace = append(r.singleTrace, traceOf(name, first, last, b.proxy.since(m))+
			fmt.Sprintf("; 409 Conflict answers on cloudflaretokens: %d", apiConflicts(ctx, b.cs)-conflicts0))
	}
	r.single1 = summarize(b.proxy.since(mark))
	sortDurations(r.singles)
	return nil
}

// latencyBurst creates a burst at once, measures it, then deletes it and the single ones (Revoke), so that
// the 500 start from clean accounts.
func (b *bench) latencyBurst(ctx context.Context) error {
	say("latency at %d: created at once", b.o.burst)
	if err := b.waitQuiet(ctx, time.Second); err != nil {
		return err
	}
	mark := b.proxy.mark()
	burst := names(specs("burst", b.o.burst))
	if err := createTokens(ctx, b.k8s, b.trk, specs("burst", b.o.burst), b.o.concurrency); err != nil {
		return err
	}
	var err error
	if b.r.burst, _, _, err = b.trk.wait(ctx, burst, b.o.readyTimeout); err != nil {
		return fmt.Errorf("latency at %d: %w", b.o.burst, err)
	}
	b.r.burstWall = wallOf(b.trk, burst)
	if err := b.waitQuiet(ctx, 2*time.Second); err != nil {
		return err
	}
	b.r.burstCalls = summarize(b.proxy.since(mark))

	say("deleting the %d latency resources", b.o.singles+b.o.burst)
	var all []string
	for i := range b.o.singles {
		all = append(all, fmt.Sprintf("single-%02d", i))
	}
	if err := deleteTokens(ctx, b.k8s, append(all, burst...), b.o.readyTimeout); err != nil {
		return err
	}
	return b.waitQuiet(ctx, 2*time.Second)
}

// mint creates the 500 at once and counts every Cloudflare call until they are Ready and the API is quiet.
func (b *bench) mint(ctx context.Context) error {
	o := b.o
	say("mint: %d account-owned tokens across %d zones and %d accounts, created at once",
		o.tokens, zonesPerAccount*len(accounts), len(accounts))
	mark := b.proxy.mark()
	mass := specs("tok", o.tokens)
	b.mass = names(mass)
	if err := createTokens(ctx, b.k8s, b.trk, mass, o.concurrency); err != nil {
		return err
	}
	var err error
	if b.r.mass, _, _, err = b.trk.wait(ctx, b.mass, o.readyTimeout); err != nil {
		return fmt.Errorf("mint: %w", err)
	}
	b.r.massWall = wallOf(b.trk, b.mass)
	if err := b.waitQuiet(ctx, 3*time.Second); err != nil {
		return err
	}
	b.r.mintCalls = summarize(b.proxy.since(mark))
	say("  all Ready in %s; %d calls", b.r.massWall.Round(time.Millisecond), b.r.mintCalls.total)
	return nil
}

// restart stops the manager like a rolled pod and starts a new one with empty caches; the phase ends once
// the new one has reconciled every token and the API is quiet.
func (b *bench) restart(ctx context.Context) error {
	r := b.r
	say("restart: stopping the manager and starting a new one with %d fresh tokens", b.o.tokens)
	if err := b.stopManager("manager-1 (latency, mint)"); err != nil {
		return err
	}
	if err := b.waitQuiet(ctx, time.Second); err != nil {
		return err
	}
	r.heldAtRestart = map[string]int{}
	for _, t := range b.fake.Tokens() {
		if t.AccountID != "" {
			r.heldAtRestart[t.AccountID]++
		}
	}
	mark := b.proxy.mark()
	restartAt := time.Now()
	if err := b.startManager(ctx, "manager-2"); err != nil {
		return err
	}
	if err := waitReconciled(ctx, b.mgr, b.o.tokens, b.o.readyTimeout); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	if err := b.waitQuiet(ctx, 3*time.Second); err != nil {
		return err
	}
	r.restartWait = time.Since(restartAt)
	calls := b.proxy.since(mark)
	r.restartCalls = summarize(calls)
	r.restartByAccount = map[string]callSummary{}
	for _, a := range accounts {
		var mine []call
		for _, c := range calls {
			if c.account == a {
				mine = append(mine, c)
			}
		}
		r.restartByAccount[a] = summarize(mine)
	}
	say("  %d calls (%d creates, %d deletes, %d lists)",
		r.restartCalls.total, r.restartCalls.creates, r.restartCalls.deletes, r.restartCalls.lists)
	return nil
}

// rotate forces a rotation of every token with the rotate annotation (grace period 0s).
func (b *bench) rotate(ctx context.Context) error {
	say("rotation: annotating all %d with %s", b.o.tokens, cfv1.AnnotationRotate)
	mark := b.proxy.mark()
	value := "bench-" + strconv.FormatInt(time.Now().Unix(), 10)
	if err := rotateTokens(ctx, b.k8s, b.trk, b.mass, value, b.o.concurrency); err != nil {
		return err
	}
	var err error
	if b.r.rotation, _, _, err = b.trk.wait(ctx, b.mass, b.o.readyTimeout); err != nil {
		return fmt.Errorf("rotation: %w", err)
	}
	b.r.rotationWall = wallOf(b.trk, b.mass)
	if err := b.waitQuiet(ctx, 3*time.Second); err != nil {
		return err
	}
	b.r.rotationCalls = summarize(b.proxy.since(mark))
	say("  all rotated in %s; %d calls", b.r.rotationWall.Round(time.Millisecond), b.r.rotationCalls.total)
	return b.stopManager("manager-2 (restart, rotation)")
}

// tally computes the whole run's figures: the busiest 5-minute windows and the 429s.
func (b *bench) tally() {
	r := b.r
	all := b.proxy.all()
	r.totalCalls = len(all)
	r.maxWindowAll = b.fake.MaxRequestsInWindow(5 * time.Minute)
	r.maxWindowByAccount = window.MaxInBy(all, 5*time.Minute, func(c call) string { return c.account }, func(c call) time.Time { return c.at })
	r.fakeRoutes = b.fake.RequestCounts()
	for k, v := range r.fakeRoutes {
		if strings.HasSuffix(k, " 429") {
			r.total429 += v
		}
	}
	r.m.loadEnd = loadAvg()
	r.m.loadMax = r.m.maxLoad()
}

func (b *bench) startManager(ctx context.Context, name string) error {
	m, smp, err := startManager(ctx, b.o, b.managerBin, b.kubeconfig, b.proxy.URL(b.fake.URL()), name)
	if err != nil {
		return err
	}
	b.mgr, b.smp, b.mgrStart = m, smp, time.Now()
	return nil
}

// stopManager takes the manager's last /proc reading, then stops it (SIGTERM).
func (b *bench) stopManager(label string) error {
	b.r.managers = append(b.r.managers, managerRun{name: label, proc: b.smp.finish(), wall: time.Since(b.mgrStart)})
	err := b.mgr.Stop(10 * time.Second)
	b.mgr = nil
	return err
}

func (b *bench) waitQuiet(ctx context.Context, quiet time.Duration) error {
	return waitQuiet(ctx, b.proxy, quiet, time.Minute)
}

// traceOf says where one resource's time went: each Cloudflare call's start and end, relative to the
// create call, and when the goal was seen met.
func traceOf(name string, start, done time.Time, calls []call) string {
	parts := make([]string, 0, len(calls))
	for _, c := range calls {
		parts = append(parts, fmt.Sprintf("%s %s–%s", c.route, ms(c.at.Sub(start)), ms(c.end.Sub(start))))
	}
	return fmt.Sprintf("%s: Ready at %s; calls: %s", name, ms(done.Sub(start)), strings.Join(parts, ", "))
}

// apiConflicts is how many 409 answers kube-apiserver gave on cloudflaretokens (its own metrics).
func apiConflicts(ctx context.Context, cs kubernetes.Interface) int {
	b, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "apiserver_request_total{") && strings.Contains(line, `code="409"`) &&
			strings.Contains(line, `resource="cloudflaretokens"`) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			n += int(v)
		}
	}
	return n
}

func issuerName(i int) string { return fmt.Sprintf("bench-%c", 'a'+i) }

// tokenSpec is one CloudflareToken to create: name, account index, zone index.
type tokenSpec struct {
	name          string
	account, zone int
}

// specs spreads n tokens evenly over the accounts and, within each, over its zones.
func specs(prefix string, n int) []tokenSpec {
	out := make([]tokenSpec, 0, n)
	for i := range n {
		a := i % len(accounts)
		out = append(out, tokenSpec{fmt.Sprintf("%s-%c-%03d", prefix, 'a'+a, i/len(accounts)), a, (i / len(accounts)) % zonesPerAccount})
	}
	return out
}

func names(s []tokenSpec) []string {
	out := make([]string, len(s))
	for i, t := range s {
		out[i] = t.name
	}
	return out
}

func zoneName(account, zone int) string {
	return fmt.Sprintf("zone%d-%c.example.com", zone, 'a'+account)
}

// createTokens creates the CloudflareTokens with bounded concurrency, each goal starting just before its
// create call.
func createTokens(ctx context.Context, k8s client.Client, trk *tracker, toks []tokenSpec, concurrency int) error {
	return parallel(len(toks), concurrency, func(i int) error {
		t := toks[i]
		obj := &cfv1.CloudflareToken{
			ObjectMeta: metav1.ObjectMeta{Name: t.name, Namespace: benchNamespace},
			Spec: cfv1.CloudflareTokenSpec{
				IssuerRef:           cfv1.IssuerRef{Kind: "ClusterTokenIssuer", Name: issuerName(t.account)},
				Zones:               []string{zoneName(t.account, t.zone)},
				Permissions:         []string{"Zone Read", "DNS Write"},
				RotationGracePeriod: &metav1.Duration{Duration: 0},
				DeletionPolicy:      cfv1.DeletionPolicyRevoke,
			},
		}
		start := time.Now()
		trk.expect(t.name, goal{start: start})
		if err := k8s.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s: %w", t.name, err)
		}
		return nil
	})
}

// rotateTokens sets the rotate annotation on each token, the goal starting just before its patch.
func rotateTokens(ctx context.Context, k8s client.Client, trk *tracker, toks []string, value string, concurrency int) error {
	return parallel(len(toks), concurrency, func(i int) error {
		name := toks[i]
		patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, cfv1.AnnotationRotate, value))
		obj := &cfv1.CloudflareToken{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: benchNamespace}}
		trk.expect(name, goal{start: time.Now(), rotate: value, oldID: trk.tokenID(name)})
		if err := k8s.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", patch)); err != nil {
			return fmt.Errorf("annotating %s: %w", name, err)
		}
		return nil
	})
}

// deleteTokens deletes the tokens and waits until their finalizers let them go.
func deleteTokens(ctx context.Context, k8s client.Client, toks []string, timeout time.Duration) error {
	if err := parallel(len(toks), 16, func(i int) error {
		err := k8s.Delete(ctx, &cfv1.CloudflareToken{ObjectMeta: metav1.ObjectMeta{Name: toks[i], Namespace: benchNamespace}})
		return client.IgnoreNotFound(err)
	}); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		var list cfv1.CloudflareTokenList
		if err := k8s.List(ctx, &list, client.InNamespace(benchNamespace)); err != nil {
			return err
		}
		left := 0
		want := map[string]bool{}
		for _, n := range toks {
			want[n] = true
		}
		for _, t := range list.Items {
			if want[t.Name] {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d CloudflareTokens still there %s after their deletion", left, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func parallel(n, workers int, f func(i int) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// createBlobs creates the unrelated Secrets (protobuf on the wire, bounded concurrency). Their data is random
// (etcd stores it as it is), with the index written into it so that no two are alike.
func createBlobs(ctx context.Context, cfg *rest.Config, o options) error {
	pc := rest.CopyConfig(cfg)
	pc.ContentType = "application/vnd.kubernetes.protobuf"
	cs, err := kubernetes.NewForConfig(pc)
	if err != nil {
		return err
	}
	base := make([]byte, o.secretSize)
	if _, err := rand.Read(base); err != nil {
		return err
	}
	return parallel(o.secrets, 8, func(i int) error {
		data := append([]byte(nil), base...)
		copy(data, fmt.Sprintf("blob %06d ", i))
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("blob-%05d", i), Namespace: blobNamespace,
				Labels: map[string]string{"app": "unrelated"}},
			Data: map[string][]byte{"blob": data},
		}
		for attempt := 0; ; attempt++ {
			_, err := cs.CoreV1().Secrets(blobNamespace).Create(ctx, s, metav1.CreateOptions{})
			if err == nil || apierrors.IsAlreadyExists(err) {
				return nil
			}
			if attempt >= 5 {
				return fmt.Errorf("creating Secret %s: %w", s.Name, err)
			}
			time.Sleep(time.Second)
		}
	})
}

// startManager runs bin/manager against the control plane and the proxy, with plain-HTTP metrics on
// loopback (for the reconcile counter), and samples its /proc entries.
func startManager(ctx context.Context, o options, bin, kubeconfig, apiURL, name string) (*localcluster.Manager, *sampler, error) {
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	m, err := localcluster.StartManager(ctx, localcluster.ManagerOptions{
		Bin: bin, Kubeconfig: kubeconfig, CloudflareURL: apiURL,
		LogPath: filepath.Join(o.logDir, name+".log"), OperatorNamespace: operatorNamespace,
		ExtraArgs: []string{"--cluster-name=bench", "--api-requests-per-5m=" + strconv.Itoa(o.budget),
			"--metrics-bind-address=" + metricsAddr, "--metrics-secure=false", "--zap-log-level=info"},
		ReadyTimeout: 2 * time.Minute,
	})
	if err != nil {
		return nil, nil, err
	}
	metricsAddrs.Store(m, metricsAddr)
	return m, startSampler(m.Pid(), 250*time.Millisecond), nil
}

var metricsAddrs sync.Map // *localcluster.Manager -> metrics address

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

// reconciled sums controller_runtime_reconcile_total of the CloudflareToken controller.
func reconciled(ctx context.Context, m *localcluster.Manager) (float64, error) {
	addr, _ := metricsAddrs.Load(m)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr.(string)+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "controller_runtime_reconcile_total{") && strings.Contains(line, `controller="cloudflaretoken"`) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum, nil
}

// waitReconciled waits until the manager's CloudflareToken controller has finished n reconciles.
func waitReconciled(ctx context.Context, m *localcluster.Manager, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		got, err := reconciled(ctx, m)
		if err == nil && got >= float64(n) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%v of %d reconciles after %s (%v)", got, n, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitQuiet waits until no Cloudflare request has arrived for quiet.
func waitQuiet(ctx context.Context, p *countingProxy, quiet, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if time.Since(p.lastCall()) >= quiet {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Cloudflare requests did not stop for %s within %s", quiet, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func waitIssuerReady(ctx context.Context, k8s client.Client, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := testutil.ClusterIssuerReady(ctx, k8s, name)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// wallOf is the time from the first goal's start to the last goal's end.
func wallOf(trk *tracker, toks []string) time.Duration {
	trk.mu.Lock()
	defer trk.mu.Unlock()
	var first, last time.Time
	for i, n := range toks {
		g := trk.goals[n]
		if i == 0 || g.start.Before(first) {
			first = g.start
		}
		if g.doneAt.After(last) {
			last = g.doneAt
		}
	}
	return last.Sub(first)
}

func say(format string, args ...any) {
	fmt.Printf("%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func firstLine(b []byte, err error) string {
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
