package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster"
)

// demoRun is bin/demo-run (built by the test into a temporary directory) running as a process.
type demoRun struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

func (r *demoRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// startDemo builds hack/demo and runs it with args in its own process group. Whatever happens, the test's
// cleanup stops it (SIGTERM, which makes it stop everything it started, then SIGKILL to its group).
func startDemo(t *testing.T, args ...string) *demoRun {
	t.Helper()
	root, err := localcluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "demo-run")
	build := exec.Command("go", "build", "-o", bin, "./hack/demo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./hack/demo: %v\n%s", err, out)
	}
	r := &demoRun{done: make(chan struct{})}
	r.cmd = exec.Command(bin, append([]string{"-dir", t.TempDir()}, args...)...)
	r.cmd.Dir = root
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stdout, r.cmd.Stderr = pw, pw
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = pw.Close()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		s := bufio.NewScanner(pr)
		for s.Scan() {
			r.mu.Lock()
			r.out.WriteString(s.Text() + "\n")
			r.mu.Unlock()
		}
	}()
	go func() {
		r.err = r.cmd.Wait()
		<-copied
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-r.done:
			case <-time.After(60 * time.Second):
			}
		}
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("demo output:\n%s", r.output())
		}
	})
	return r
}

// wait waits for the demo to exit.
func (r *demoRun) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		t.Fatalf("the demo did not exit within %s", timeout)
		return nil
	}
}

var (
	managerPidRE = regexp.MustCompile(`manager pid (\d+)`)
	apiserverRE  = regexp.MustCompile(`kube-apiserver (https://127\.0\.0\.1:\d+)/?`)
)

// checkReadyOutput asserts what a person sees: every resource Ready, the Secret's value masked, the token
// verified at the fake.
func checkReadyOutput(t *testing.T, out string) {
	t.Helper()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^clustertokenissuer\.cloudflare\.tokenoperator\.dev/cloudflare\s+True\b`),
		regexp.MustCompile(`(?m)^cert-manager\s+tokenissuer\.cloudflare\.tokenoperator\.dev/cloudflare\s+True\b`),
		regexp.MustCompile(`(?m)^cert-manager\s+cloudflaretoken\.cloudflare\.tokenoperator\.dev/dns01\s+True\s+cloudflare-api-token\b`),
		regexp.MustCompile(`(?m)^  api-token: cfut_.{3}…\(masked, \d+ chars\)$`),
		regexp.MustCompile(`(?m)^  cloudflare\.tokenoperator\.dev/token-id: [0-9a-f]{32}$`),
		regexp.MustCompile(`verify with that value: token [0-9a-f]{32} is active`),
	} {
		if !want.MatchString(out) {
			t.Errorf("the demo's output lacks %s", want)
		}
	}
}

// checkStopped asserts that the manager and kube-apiserver the demo started are gone.
func checkStopped(t *testing.T, out string) {
	t.Helper()
	m := managerPidRE.FindStringSubmatch(out)
	a := apiserverRE.FindStringSubmatch(out)
	if m == nil || a == nil {
		t.Fatalf("the demo did not say its manager pid and apiserver URL")
	}
	pid, _ := strconv.Atoi(m[1])
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("manager pid %d still exists after the demo exited (kill -0: %v)", pid, err)
	}
	u, _ := url.Parse(a[1])
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		_ = c.Close()
		t.Errorf("kube-apiserver %s still listens after the demo exited", u.Host)
	}
	if !strings.Contains(out, "demo: stopped manager, fake Cloudflare API, kube-apiserver, etcd") {
		t.Errorf("the demo did not report its cleanup")
	}
}

// TestDemoExitWhenReady runs `make demo`'s program as CI does (-exit-when-ready): it must build what it
// needs, reach Ready, clean up and exit 0.
func TestDemoExitWhenReady(t *testing.T) {
	r := startDemo(t, "-exit-when-ready")
	if err := r.wait(t, 10*time.Minute); err != nil {
		t.Fatalf("the demo failed: %v\n%s", err, r.output())
	}
	out := r.output()
	checkReadyOutput(t, out)
	if !strings.Contains(out, "-exit-when-ready: stopping") {
		t.Errorf("the demo did not say it stops because of -exit-when-ready")
	}
	checkStopped(t, out)
}

// TestDemoCtrlC runs the demo as a person does: it waits for Ctrl-C after printing how to poke at it; a
// rotation and a check through the printed `kubectl cftoken` commands work; SIGINT stops everything.
func TestDemoCtrlC(t *testing.T) {
	r := startDemo(t)
	err := localcluster.Eventually(context.Background(), 10*time.Minute, 200*time.Millisecond, func(context.Context) (bool, error) {
		select {
		case <-r.done:
			return false, localcluster.Permanent(fmt.Errorf("the demo exited early: %v", r.err))
		default:
		}
		return strings.Contains(r.output(), "Press Ctrl-C"), nil
	})
	if err != nil {
		t.Fatalf("the demo never got to \"Press Ctrl-C\": %v\n%s", err, r.output())
	}
	out := r.output()
	checkReadyOutput(t, out)
	for _, want := range []string{"export KUBECONFIG=", "export PATH=", "kubectl cftoken status -A",
		"kubectl cftoken rotate -n cert-manager dns01 --wait", "kubectl cftoken check -n cert-manager dns01 --api-url http://127.0.0.1:",
		"manager.log"} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's instructions lack %q", want)
		}
	}
	rotateAsPrinted(t, out)

	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := r.wait(t, 2*time.Minute); err != nil {
		t.Fatalf("the demo did not exit cleanly on SIGINT: %v\n%s", err, r.output())
	}
	out = r.output()
	if !strings.Contains(out, "interrupted: stopping") {
		t.Errorf("the demo did not say it was interrupted")
	}
	checkStopped(t, out)
	kubeconfig := regexp.MustCompile(`export KUBECONFIG=(\S+)`).FindStringSubmatch(out)[1]
	if _, err := os.Stat(kubeconfig); !os.IsNotExist(err) {
		t.Errorf("the demo left its kubeconfig %s (stat: %v)", kubeconfig, err)
	}
}

// rotateAsPrinted follows the demo's instructions: export KUBECONFIG and PATH, `kubectl cftoken rotate
// --wait`, then `kubectl cftoken check`; kubectl runs the plugin, the status names a new token and the old
// one is retiring, and the Secret's new value is active at the fake.
func rotateAsPrinted(t *testing.T, out string) {
	t.Helper()
	root, _ := localcluster.RepoRoot()
	assets, err := localcluster.AssetsDir(root)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := regexp.MustCompile(`export KUBECONFIG=(\S+)`).FindStringSubmatch(out)[1]
	pluginDir := regexp.MustCompile(`export PATH=(\S+):\$PATH`).FindStringSubmatch(out)[1]
	check := regexp.MustCompile(`kubectl (cftoken check .*--api-url \S+)`).FindStringSubmatch(out)[1]
	k := localcluster.Kubectl{Path: filepath.Join(assets, "kubectl"), Kubeconfig: kubeconfig, Dir: root}
	ctx := context.Background()
	id := func() string {
		s, err := k.Run(ctx, "get", "cftoken", "-n", "cert-manager", "dns01", "-o", "jsonpath={.status.tokenID}")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	plugin := func(line string) string {
		cmd := exec.Command(k.Path, strings.Fields(line)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"))
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", line, err, got)
		}
		return string(got)
	}
	before := id()
	got := plugin("cftoken rotate -n cert-manager dns01 --wait")
	after := id()
	if after == before || !strings.Contains(got, "token "+before+" replaced by "+after) {
		t.Fatalf("kubectl cftoken rotate --wait: status names %s (was %s)\n%s", after, before, got)
	}
	retiring, err := k.Run(ctx, "get", "cftoken", "-n", "cert-manager", "dns01", "-o", "jsonpath={.status.retiringTokens[*].id}")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(retiring, before) {
		t.Errorf("the replaced token %s is not retiring (retiringTokens: %q)", before, retiring)
	}
	if got := plugin(check); !strings.Contains(got, "active") || !strings.Contains(got, after+" (matches status.tokenID") {
		t.Errorf("kubectl %s:\n%s", check, got)
	}
}
