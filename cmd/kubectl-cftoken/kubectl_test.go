package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

// kubectl finds kubectl-cftoken on PATH and runs it as `kubectl cftoken`, passing the exit code through.
func TestWorksAsKubectlPlugin(t *testing.T) {
	assets, err := testutil.AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	kubectl := filepath.Join(assets, "kubectl")
	ns := newNamespace(t)
	tok := readyToken(t, ns, "dns01")

	run := func(args ...string) (string, int) {
		cmd := exec.Command(kubectl, append([]string{"cftoken", "--kubeconfig", adminKubeconfig}, args...)...)
		cmd.Env = []string{"HOME=" + workDir, "PATH=" + filepath.Dir(pluginBin) + string(os.PathListSeparator) + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			return string(out), exit.ExitCode()
		case err != nil:
			t.Fatalf("kubectl cftoken %v: %v\n%s", args, err, out)
		}
		return string(out), 0
	}
	if out, code := run("status", "-n", ns); code != 0 || !strings.Contains(out, tok.Status.TokenID) {
		t.Fatalf("kubectl cftoken status: exit %d\n%s", code, out)
	}
	if out, code := run("status", "-n", ns, "absent"); code != 1 || !strings.Contains(out, `"absent" not found`) {
		t.Fatalf("kubectl cftoken status absent: exit %d\n%s", code, out)
	}
	if out, code := run("status", "-o", "xml"); code != 2 {
		t.Fatalf("kubectl cftoken status -o xml: exit %d\n%s", code, out)
	}
}
