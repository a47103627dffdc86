package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

func describeMachine() machine {
	m := machine{date: time.Now().UTC().Format(time.RFC3339), goVersion: runtime.Version(), nproc: runtime.NumCPU(),
		loadStart: loadAvg(), busyStart: busiest()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				var kib int64
				_, _ = fmt.Sscan(f[1], &kib)
				m.memTotal = fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
			}
		}
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m.kernel = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		m.goVersion = strings.TrimSpace(string(out))
	}
	return m
}

// loadAvg is /proc/loadavg's 1, 5 and 15 minute figures.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return unknown
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return unknown
	}
	return strings.Join(f[:3], " ")
}

// busiest names the processes using the most CPU right now (what else was running).
func busiest() string {
	out, err := exec.Command("ps", "-eo", "pcpu,comm", "--sort=-pcpu", "--no-headers").Output()
	if err != nil {
		return unknown
	}
	var parts []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] == "0.0" {
			continue
		}
		parts = append(parts, f[1]+" "+f[0]+"%")
		if len(parts) == 6 {
			break
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

const (
	unknown  = "unknown"
	reported = "(reported)"
)

var (
	loadMu   sync.Mutex
	loadPeak float64
)

// watchLoad samples the 1-minute load average every 5 s until the returned function is called.
func (m *machine) watchLoad() func() {
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			if f := strings.Fields(loadAvg()); len(f) > 0 {
				if v, err := strconv.ParseFloat(f[0], 64); err == nil {
					loadMu.Lock()
					loadPeak = max(loadPeak, v)
					loadMu.Unlock()
				}
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(stop) }
}

func (m *machine) maxLoad() string {
	loadMu.Lock()
	defer loadMu.Unlock()
	return strconv.FormatFloat(loadPeak, 'f', 2, 64)
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func yes(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}

// row is one line of the table: a figure, its measurement, its goal and whether it is met ("" when the
// figure has no goal of its own).
type row struct{ figure, measured, goal, met string }

func (r *results) rows() []row {
	n := float64(r.o.tokens)
	perMint := float64(r.mintCalls.total) / n
	perRot := float64(r.rotationCalls.total) / n
	restartMutations := r.restartCalls.creates + r.restartCalls.deletes

	// Lists per sweep, per issuer (each issuer is one account's credential).
	worstPages, worstIdeal := 0.0, 0
	perIssuer := make([]string, 0, len(accounts))
	for i, a := range accounts {
		s := r.restartByAccount[a]
		pages := 0.0
		if s.sweeps > 0 {
			pages = float64(s.lists) / float64(s.sweeps)
		}
		ideal := (r.heldAtRestart[a] + listPageSize - 1) / listPageSize
		perIssuer = append(perIssuer, fmt.Sprintf("%s: %d lists / %d sweep(s), %d tokens held",
			issuerName(i), s.lists, s.sweeps, r.heldAtRestart[a]))
		if pages > worstPages {
			worstPages = pages
		}
		worstIdeal = max(worstIdeal, ideal)
	}
	sweepGoal := (r.o.tokens + listPageSize - 1) / listPageSize

	var peak int64
	cpu := make([]string, 0, len(r.managers))
	for _, m := range r.managers {
		peak = max(peak, m.proc.hwmKiB)
		cpu = append(cpu, fmt.Sprintf("%s: %.1f s CPU in %s, peak RSS %.1f MiB",
			m.name, m.proc.cpu.Seconds(), secs(m.wall), float64(m.proc.hwmKiB)/1024))
	}
	maxAcct := 0
	perAcct := make([]string, 0, len(accounts))
	for i, a := range accounts {
		maxAcct = max(maxAcct, r.maxWindowByAccount[a])
		perAcct = append(perAcct, fmt.Sprintf("%s %d", issuerName(i), r.maxWindowByAccount[a]))
	}

	return []row{
		{fmt.Sprintf("Cloudflare calls per mint (%d account-owned tokens, %d zones, %d accounts)",
			r.o.tokens, zonesPerAccount*len(accounts), len(accounts)),
			fmt.Sprintf("%.3f (%d calls: %d creates, %d lists, %d other)",
				perMint, r.mintCalls.total, r.mintCalls.creates, r.mintCalls.lists, r.mintCalls.other),
			"1.00–1.05", yes(perMint >= 1 && perMint <= 1.05)},
		{fmt.Sprintf("Cloudflare calls per rotation (all %d, rotate annotation, grace 0s)", r.o.tokens),
			fmt.Sprintf("%.3f (%d calls: %d creates, %d deletes, %d lists, %d other)", perRot, r.rotationCalls.total,
				r.rotationCalls.creates, r.rotationCalls.deletes, r.rotationCalls.lists, r.rotationCalls.other),
			"2.00–2.05", yes(perRot >= 2 && perRot <= 2.05)},
		{fmt.Sprintf("Calls on a manager restart (%d fresh tokens)", r.o.tokens),
			fmt.Sprintf("%d creates/deletes; %d calls in all (%d lists, %d other)",
				restartMutations, r.restartCalls.total, r.restartCalls.lists, r.restartCalls.other),
			"0 creates/deletes", yes(restartMutations == 0)},
		{"List calls per drift sweep, per issuer",
			fmt.Sprintf("%.1f (%s; a page holds %d)", worstPages, strings.Join(perIssuer, "; "), listPageSize),
			fmt.Sprintf("≤ %d per issuer (ceil(%d/%d)); fewest possible %d", sweepGoal, r.o.tokens, listPageSize, worstIdeal),
			yes(worstPages > 0 && worstPages <= float64(sweepGoal))},
		{fmt.Sprintf("Create → Ready with Secret, at 1 (%d runs, %s API latency)", len(r.singles), ms(r.o.latency)),
			fmt.Sprintf("p50 %s, p99 %s (%d calls for %d mints)",
				ms(percentile(r.singles, .5)), ms(percentile(r.singles, .99)), r.single1.total, len(r.singles)),
			fmt.Sprintf("p50 ≤ %s (latency + 100 ms)", ms(r.o.latency+100*time.Millisecond)),
			yes(len(r.singles) > 0 && percentile(r.singles, .5) <= r.o.latency+100*time.Millisecond)},
		{fmt.Sprintf("Create → Ready with Secret, %d at once", r.o.burst),
			fmt.Sprintf("p50 %s, p99 %s, all in %s (%d calls)",
				ms(percentile(r.burst, .5)), ms(percentile(r.burst, .99)), secs(r.burstWall), r.burstCalls.total),
			reported, ""},
		{fmt.Sprintf("Create → Ready with Secret, %d at once", r.o.tokens),
			fmt.Sprintf("p50 %s, p99 %s, all in %s; %d answers 429",
				ms(percentile(r.mass, .5)), ms(percentile(r.mass, .99)), secs(r.massWall), r.mintCalls.status429),
			"all within 60 s, no 429", yes(r.massWall <= time.Minute && r.mintCalls.status429 == 0)},
		{fmt.Sprintf("Rotation of %d, annotation → Ready with the new token, old one revoked", r.o.tokens),
			fmt.Sprintf("p50 %s, p99 %s, all in %s", ms(percentile(r.rotation, .5)), ms(percentile(r.rotation, .99)), secs(r.rotationWall)),
			reported, ""},
		{fmt.Sprintf("Manager peak RSS (VmHWM), %d CloudflareTokens + %d unrelated %d KiB Secrets", r.o.tokens, r.o.secrets, r.o.secretSize>>10),
			fmt.Sprintf("%.1f MiB (RSS with the issuers Ready and no CloudflareToken yet: %.1f MiB)",
				float64(peak)/1024, float64(r.idleRSSKiB)/1024),
			"< 64 MiB", yes(peak > 0 && peak < 64*1024)},
		{fmt.Sprintf("Manager RSS growth from %d Secrets of %d KiB a tenant labels as the operator's", r.o.hostileSecrets, r.o.hostileSize>>10),
			fmt.Sprintf("%+.1f MiB (%.1f MiB before, %.1f MiB after)", float64(r.hostileAfterKiB-r.hostileBeforeKiB)/1024,
				float64(r.hostileBeforeKiB)/1024, float64(r.hostileAfterKiB)/1024),
			"< 10 MiB", yes(r.hostileAfterKiB > 0 && r.hostileAfterKiB-r.hostileBeforeKiB < 10*1024)},
		{"Manager CPU (utime+stime) and peak RSS, per process", strings.Join(cpu, "; "), reported, ""},
		{"429 answers during the whole run", fmt.Sprint(r.total429), "0", yes(r.total429 == 0)},
		{"Most requests in any 5-minute window",
			fmt.Sprintf("%d all credentials; per credential: %s (%d requests in the whole run)",
				r.maxWindowAll, strings.Join(perAcct, ", "), r.totalCalls),
			fmt.Sprintf("≤ %d per credential (--api-requests-per-5m; Cloudflare: 1200)", r.o.budget),
			yes(maxAcct <= r.o.budget)},
	}
}

// table is the text table the harness prints.
func (r *results) table() string {
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "FIGURE\tMEASURED\tGOAL\tMET")
	for _, x := range r.rows() {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", x.figure, x.measured, x.goal, x.met)
	}
	_ = w.Flush()
	if len(r.micro) > 0 {
		b.WriteString("\n")
		w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "MICRO-BENCHMARK\tns/op\tB/op\tallocs/op")
		for _, m := range r.micro {
			fmt.Fprintf(w, "%s.%s\t%s\t%s\t%s\n", m.pkg, m.name, m.nsPerOp, m.bPerOp, m.allocsPer)
		}
		_ = w.Flush()
	}
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// markdown is BENCHMARKS.md.
func (r *results) markdown(table string) string {
	var b strings.Builder
	o := r.o
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `make bench` (`test/bench`): do not edit by hand; run it again. The figures are one run's;\n")
	b.WriteString("the harness asserts nothing, it measures.\n\n")
	b.WriteString("## Machine and run\n\n")
	fmt.Fprintf(&b, "- date: %s\n", r.m.date)
	fmt.Fprintf(&b, "- machine: %d cores (nproc), %s memory, %s\n", r.m.nproc, r.m.memTotal, r.m.kernel)
	fmt.Fprintf(&b, "- Go: %s\n", r.m.goVersion)
	fmt.Fprintf(&b, "- kube-apiserver: %s; etcd: %s (envtest, `--quota-backend-bytes=%d`)\n",
		r.m.apiserverVersion, r.m.etcdVersion, o.etcdQuota)
	fmt.Fprintf(&b, "- load average (1, 5, 15 min) at the start: %s; at the end: %s; highest 1-minute figure during the run: %s\n",
		r.m.loadStart, r.m.loadEnd, r.m.loadMax)
	fmt.Fprintf(&b, "- busiest other processes at the start (ps, %%CPU): %s\n", r.m.busyStart)
	fmt.Fprintf(&b, "- fake Cloudflare API (`cloudflaretest`, in the harness' process, behind a counting proxy): %s per answer, "+
		"Cloudflare's limits (1200 requests / 5 min per credential, 500 tokens per account)\n", ms(o.latency))
	fmt.Fprintf(&b, "- manager: `bin/manager` as its own process, `--api-requests-per-5m=%d`, "+
		"default concurrency and drift interval\n", o.budget)
	fmt.Fprintf(&b, "- workload: %d CloudflareTokens (tokenOwner Account), %d per account, %d per zone, one zone and "+
		"`Zone Read` + `DNS Write` each, `rotationGracePeriod: 0s`; %d unrelated Secrets of %d KiB created before the manager starts "+
		"(took %s)\n", o.tokens, o.tokens/len(accounts), o.tokens/(zonesPerAccount*len(accounts)), o.secrets, o.secretSize>>10, secs(r.blobs))
	b.WriteString("\n## Figures\n\n| figure | measured | goal | met |\n| --- | --- | --- | --- |\n")
	for _, x := range r.rows() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdEscape(x.figure), mdEscape(x.measured), mdEscape(x.goal), x.met)
	}
	b.WriteString("\nCalls by route, per phase (from the counting proxy):\n\n")
	for _, p := range []struct {
		name string
		s    callSummary
	}{{"latency at 1", r.single1}, {fmt.Sprintf("latency at %d", o.burst), r.burstCalls}, {"mint", r.mintCalls},
		{"restart", r.restartCalls}, {"rotation", r.rotationCalls}} {
		fmt.Fprintf(&b, "- %s: %d — %s\n", p.name, p.s.total, mdEscape(p.s.routesText()))
	}
	if len(r.singleTrace) > 0 {
		b.WriteString("\nWhere a single resource's time goes (Cloudflare calls relative to the create call):\n\n")
		for _, t := range r.singleTrace {
			fmt.Fprintf(&b, "- %s\n", mdEscape(t))
		}
	}
	if len(r.micro) > 0 {
		fmt.Fprintf(&b, "\n## Micro-benchmarks\n\n`go test -run '^$' -bench . -benchmem -benchtime %s %s`\n\n",
			o.benchtime, strings.Join(microPackages, " "))
		b.WriteString("| package | benchmark | ns/op | B/op | allocs/op |\n| --- | --- | --- | --- | --- |\n")
		for _, m := range r.micro {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", m.pkg, m.name, m.nsPerOp, m.bPerOp, m.allocsPer)
		}
	}
	b.WriteString("\n## As printed\n\n```\n")
	b.WriteString(table)
	b.WriteString("```\n\n## How it is measured\n\n")
	b.WriteString(howMeasured)
	return b.String()
}

const howMeasured = `- **Calls** are counted by a reverse proxy between the manager and the fake, per credential (by bearer
  token), route and page; every request of a phase counts, from its first create or patch until no request has
  arrived for 3 s after the last resource reached its goal. Per mint and per rotation are those totals divided
  by the number of tokens.
- **Restart**: the manager is stopped (SIGTERM) and a new process started; the phase ends once its
  CloudflareToken controller has finished one reconcile per token (controller_runtime_reconcile_total) and
  the API has been quiet for 3 s.
- **Drift sweep**: the restarted manager knows nothing, so its first look at each credential is a full sweep:
  one paged list (50 per page) of the account's tokens. A sweep is a list of page 1 and the pages after it.
  The account also holds its parent token, so the fewest pages possible is ceil((tokens + 1) / 50).
- **Create → Ready**: from just before the create call until the harness' watch sees both Ready=True and the
  Secret holding the status' token (annotation token-id, key api-token). For a rotation: from just before
  the annotation patch until the status has handled the value, holds a new token, retires nothing and the
  Secret holds it.
- **Memory and CPU**: VmHWM from /proc/<pid>/status and utime+stime from /proc/<pid>/stat of each manager
  process, read until just before it is stopped. The unrelated Secrets are never in the manager's cache
  (its Secret informer selects the operator's label).
- **5-minute window**: the most requests in any 5 minutes, across credentials (the fake's
  MaxRequestsInWindow) and per credential (the proxy), against the client-side budget, which is per
  credential like Cloudflare's limit.
`
