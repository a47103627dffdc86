// Command demo runs the operator on this machine against the fake Cloudflare API: `make demo`.
//
// It builds bin/manager and bin/fakecloudflare, starts kube-apiserver and etcd (from bin/k8s, `make
// envtest`), writes bin/demo/kubeconfig, starts the fake Cloudflare API and the manager as processes, creates
// the parent credential Secret, installs the CRDs and applies config/samples with kubectl, waits until the
// issuers and the CloudflareToken are Ready, shows what the operator made, and then runs until Ctrl-C
// (SIGINT or SIGTERM), when it stops every process it started and removes their temporary directories.
// Logs stay in bin/demo/.
//
//	go run ./hack/demo [-exit-when-ready] [-dir bin/demo] [-ready-timeout 2m]
//
// -exit-when-ready (or DEMO_EXIT=1) cleans up and exits 0 as soon as everything is Ready: the test and CI mode.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster"
)

const (
	operatorNamespace = "cloudflare-token-operator"
	tokenNamespace    = "cert-manager"
	tokenName         = "dns01"
	issuerName        = "cloudflare"
	parentSecret      = "cf-parent"
)

func main() {
	exitWhenReady := flag.Bool("exit-when-ready", os.Getenv("DEMO_EXIT") == "1",
		"clean up and exit 0 once everything is Ready, instead of running until Ctrl-C (also DEMO_EXIT=1)")
	dir := flag.String("dir", filepath.Join("bin", "demo"), "where the kubeconfig and the logs go (relative to the repository)")
	readyTimeout := flag.Duration("ready-timeout", 2*time.Minute, "how long to wait for Ready")
	flag.Parse()
	// envtest logs through controller-runtime's logger; the demo says what matters itself.
	ctrllog.SetLogger(zap.New(zap.WriteTo(io.Discard)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, options{exitWhenReady: *exitWhenReady, dir: *dir, readyTimeout: *readyTimeout}, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo: FAILED:", err)
		os.Exit(1)
	}
}

type options struct {
	exitWhenReady bool
	dir           string
	readyTimeout  time.Duration
}

type demo struct {
	out   io.Writer
	root  string
	dir   string
	start time.Time

	bins    localcluster.Binaries
	cp      *localcluster.ControlPlane
	fake    *localcluster.Fake
	manager *localcluster.Manager
	kubectl localcluster.Kubectl
	kcPath  string
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "demo: "+format+"\n", args...)
}

// step runs f and says how long it took.
func (d *demo) step(what string, f func() error) error {
	t := time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	d.say("%-62s %5.1fs", what, time.Since(t).Seconds())
	return nil
}

func run(ctx context.Context, opts options, out io.Writer) (err error) {
	root, err := localcluster.RepoRoot()
	if err != nil {
		return err
	}
	d := &demo{out: out, root: root, dir: opts.dir, start: time.Now()}
	if !filepath.IsAbs(d.dir) {
		d.dir = filepath.Join(root, d.dir)
	}
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return err
	}
	defer func() {
		if cerr := d.cleanup(); cerr != nil && err == nil {
			err = cerr
		}
	}()

	if err := d.setUp(ctx); err != nil {
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
		return err
	}
	if err := d.show(ctx); err != nil {
		return err
	}
	if opts.exitWhenReady {
		d.say("ready in %.1fs; -exit-when-ready: stopping", time.Since(d.start).Seconds())
		return nil
	}
	d.poke()
	select {
	case <-ctx.Done():
		fmt.Fprintln(d.out)
		d.say("interrupted: stopping")
		return nil
	case <-d.manager.Done():
		return fmt.Errorf("the manager exited; last lines of %s:\n%s", d.rel(d.manager.LogPath), d.manager.Tail(30))
	case <-d.fake.Done():
		return fmt.Errorf("the fake Cloudflare API exited; see %s", d.rel(d.fake.LogPath))
	}
}

func (d *demo) setUp(ctx context.Context) error {
	steps := []struct {
		what string
		f    func() error
	}{
		{"go build bin/manager, bin/fakecloudflare, bin/kubectl-cftoken (+ make envtest if needed)", func() (err error) {
			d.bins, err = localcluster.Build(ctx, d.root, localcluster.BuildOptions{Plugin: true, Log: prefixWriter{d.out, "demo:   "}})
			return err
		}},
		{"start kube-apiserver + etcd from " + d.rel(d.assetsHint()), func() (err error) {
			d.cp, err = localcluster.StartControlPlane(localcluster.ControlPlaneOptions{AssetsDir: d.bins.AssetsDir, LogDir: d.dir})
			if err != nil {
				return err
			}
			d.kcPath = filepath.Join(d.dir, "kubeconfig")
			d.kubectl = localcluster.Kubectl{Path: d.bins.Kubectl, Kubeconfig: d.kcPath, Dir: d.root}
			return d.cp.WriteAdminKubeconfig(d.kcPath)
		}},
		{"start the fake Cloudflare API (bin/fakecloudflare)", func() (err error) {
			d.fake, err = localcluster.StartFake(ctx, d.bins.Fake, filepath.Join(d.dir, "fakecloudflare.log"), 30*time.Second)
			return err
		}},
		{"create namespaces and the parent credential Secret " + parentSecret, func() error {
			return d.kubectlApply(ctx, d.namespacesAndParent())
		}},
		{"install the CRDs (kubectl apply -k config/crd)", func() error {
			if _, err := d.kubectl.Run(ctx, "apply", "-k", "config/crd"); err != nil {
				return err
			}
			_, err := d.kubectl.Run(ctx, "wait", "--for=condition=Established", "--timeout=60s",
				"crd/cloudflaretokens.cloudflare.tokenoperator.dev",
				"crd/clustertokenissuers.cloudflare.tokenoperator.dev",
				"crd/tokenissuers.cloudflare.tokenoperator.dev")
			return err
		}},
		{"start bin/manager", func() (err error) {
			d.manager, err = localcluster.StartManager(ctx, localcluster.ManagerOptions{
				Bin: d.bins.Manager, Kubeconfig: d.kcPath, CloudflareURL: d.fake.Info.URL,
				LogPath: filepath.Join(d.dir, "manager.log"), OperatorNamespace: operatorNamespace,
			})
			return err
		}},
		{"apply config/samples (kubectl apply -k config/samples)", func() error {
			_, err := d.kubectl.Run(ctx, "apply", "-k", "config/samples")
			return err
		}},
		{"wait until the issuers and the CloudflareToken are Ready", func() error {
			for _, obj := range [][]string{
				{"clustertokenissuer/" + issuerName},
				{"-n", tokenNamespace, "tokenissuer/" + issuerName},
				{"-n", tokenNamespace, "cftoken/" + tokenName},
			} {
				if err := d.waitReady(ctx, obj...); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := d.step(s.what, s.f); err != nil {
			return err
		}
	}
	d.say("kube-apiserver %s, fake Cloudflare API %s, manager pid %d", d.cp.Host(), d.fake.Info.URL, d.manager.Pid())
	return nil
}

func (d *demo) assetsHint() string {
	if dir, err := localcluster.AssetsDir(d.root); err == nil {
		return dir
	}
	return filepath.Join(d.root, "bin", "k8s")
}

// namespacesAndParent: the operator's namespace with the parent credential (the fake's user token, which may
// create tokens), and cert-manager's namespace, where the sample CloudflareToken and TokenIssuer live; the
// sample TokenIssuer reads a parent Secret of the same name in its own namespace.
func (d *demo) namespacesAndParent() string {
	var b strings.Builder
	for _, ns := range []string{operatorNamespace, tokenNamespace} {
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n---\n", ns)
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\ntype: Opaque\n"+
			"stringData:\n  api-token: %q\n---\n", parentSecret, ns, d.fake.Info.UserParentToken)
	}
	return b.String()
}

func (d *demo) kubectlApply(ctx context.Context, manifest string) error {
	_, err := d.kubectl.RunInput(ctx, manifest, "apply", "-f", "-")
	return err
}

// waitReady polls the Ready condition, and on timeout says what the condition last said.
func (d *demo) waitReady(ctx context.Context, obj ...string) error {
	var last localcluster.Condition
	err := localcluster.Eventually(ctx, 2*time.Minute, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		if exited, _ := d.manager.Exited(); exited {
			return false, localcluster.Permanent(errors.New("the manager exited"))
		}
		c, err := d.kubectl.ReadyCondition(ctx, obj...)
		if err != nil {
			return false, err
		}
		last = c
		return c.Status == "True", nil
	})
	if err != nil {
		return fmt.Errorf("%s not Ready (Ready=%q reason=%q message=%q): %w\nlast lines of %s:\n%s",
			strings.Join(obj, " "), last.Status, last.Reason, last.Message, err, d.rel(d.manager.LogPath), d.manager.Tail(30))
	}
	return nil
}

// show prints what a person would look at: the resources, the Secret with its value masked, and whether the
// fake Cloudflare API takes the token.
func (d *demo) show(ctx context.Context) error {
	args := []string{"get", "clustertokenissuers,tokenissuers,cftokens", "-A"}
	got, err := d.kubectl.Run(ctx, args...)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\n$ %s\n%s", d.kubectl.Command(args...), got)

	var tok struct {
		Status struct {
			TokenID    string `json:"tokenID"`
			SecretName string `json:"secretName"`
			ExpiresAt  string `json:"expiresAt"`
		} `json:"status"`
	}
	if err := d.kubectl.GetJSON(ctx, &tok, "-n", tokenNamespace, "cftoken", tokenName); err != nil {
		return err
	}
	var secret struct {
		Metadata struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Data map[string][]byte `json:"data"`
	}
	if err := d.kubectl.GetJSON(ctx, &secret, "-n", tokenNamespace, "secret", tok.Status.SecretName); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\n$ kubectl get secret -n %s %s   (values masked by the demo)\n", tokenNamespace, tok.Status.SecretName)
	fmt.Fprintf(d.out, "labels:\n%s", indentMap(secret.Metadata.Labels, nil))
	fmt.Fprintf(d.out, "annotations:\n%s", indentMap(secret.Metadata.Annotations, nil))
	fmt.Fprintf(d.out, "data:\n%s", indentMap(nil, secret.Data))

	value := string(secret.Data["api-token"])
	id, status, err := d.fake.Verify(ctx, value)
	if err != nil {
		return fmt.Errorf("the Secret's api-token does not verify at the fake Cloudflare API: %w", err)
	}
	if id != tok.Status.TokenID || status != "active" {
		return fmt.Errorf("the Secret's api-token is token %s (%s), the CloudflareToken says %s", id, status, tok.Status.TokenID)
	}
	fmt.Fprintf(d.out, "\nGET %s/user/tokens/verify with that value: token %s is %s (status.tokenID %s, expires %s)\n\n",
		d.fake.Info.URL, id, status, tok.Status.TokenID, tok.Status.ExpiresAt)
	return nil
}

// poke prints how to play with the running demo.
func (d *demo) poke() {
	fmt.Fprintf(d.out, `Everything runs. In another terminal, from %s:

  export KUBECONFIG=%s
  export PATH=%s:$PATH   # kubectl runs bin/kubectl-cftoken as `+"`kubectl cftoken`"+`
  alias kubectl=%s
  kubectl cftoken status -A
  # rotate now and wait until the Secret holds the new token; the old one is revoked after rotationGracePeriod (5m in the sample)
  kubectl cftoken rotate -n %s %s --wait
  kubectl cftoken status -n %s %s     # conditions, issuer, retiring tokens, events
  kubectl cftoken check -n %s %s --api-url %s     # the Secret's value, verified at the fake Cloudflare API
  kubectl cftoken issuers -A
  # delete: the token is revoked at the fake Cloudflare API and the Secret removed
  kubectl delete cftoken -n %s %s
  curl -s %s/tokens      # the fake's live tokens (no values)
  tail -f %s

Logs: %s (manager), %s, %s, %s.
Press Ctrl-C to stop everything and clean up.
`, d.root, d.kcPath, filepath.Dir(d.bins.Plugin), d.bins.Kubectl,
		tokenNamespace, tokenName,
		tokenNamespace, tokenName,
		tokenNamespace, tokenName, d.fake.Info.URL,
		tokenNamespace, tokenName,
		d.fake.Info.AdminURL,
		d.rel(d.manager.LogPath),
		d.rel(d.manager.LogPath), d.rel(d.fake.LogPath),
		d.rel(filepath.Join(d.dir, "kube-apiserver.log")), d.rel(filepath.Join(d.dir, "etcd.log")))
}

// cleanup stops every process in reverse order of start and removes the temporary directories and the
// kubeconfig (it would point at a dead server); the logs stay.
func (d *demo) cleanup() error {
	var errs []error
	var stopped []string
	if d.manager != nil {
		errs = append(errs, d.manager.Stop(15*time.Second))
		stopped = append(stopped, "manager")
	}
	if d.fake != nil {
		errs = append(errs, d.fake.Stop(5*time.Second))
		stopped = append(stopped, "fake Cloudflare API")
	}
	if d.cp != nil {
		errs = append(errs, d.cp.Stop())
		stopped = append(stopped, "kube-apiserver, etcd (and their temporary directories)")
	}
	if d.kcPath != "" {
		if err := os.Remove(d.kcPath); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	if len(stopped) > 0 {
		d.say("stopped %s; logs kept in %s", strings.Join(stopped, ", "), d.rel(d.dir))
	}
	return errors.Join(errs...)
}

func (d *demo) rel(path string) string {
	if r, err := filepath.Rel(d.root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// indentMap prints m sorted, one "  key: value" a line; data values are masked.
func indentMap(m map[string]string, data map[string][]byte) string {
	keys := make([]string, 0, len(m)+len(data))
	for k := range m {
		keys = append(keys, k)
	}
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if data != nil {
			fmt.Fprintf(&b, "  %s: %s\n", k, mask(string(data[k])))
		} else {
			fmt.Fprintf(&b, "  %s: %s\n", k, m[k])
		}
	}
	return b.String()
}

// mask shows a value's prefix (Cloudflare's token kind, e.g. cfut_) and length, never the secret part.
func mask(v string) string {
	shown := min(len(v)/6, 8)
	return fmt.Sprintf("%s…(masked, %d chars)", v[:shown], len(v))
}

// prefixWriter prefixes each line (the build's output) so that it reads as part of the demo.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(p.w, p.prefix+line); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}
