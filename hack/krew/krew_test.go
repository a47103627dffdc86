package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// plugin is krew's Plugin manifest (krew.googlecontainertools.github.com/v1alpha2), the fields krew reads.
type plugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
			Bin string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

const testTag = "v0.0.0-test"

var sha = regexp.MustCompile(`^[0-9a-f]{64}$`)

// .krew.yaml renders into a manifest krew accepts, and the host platform's asset, built for real, installs
// as the manifest says and runs. Other platforms are not cross-compiled here (minutes each): their assets
// are checked by name only, and `make krew-manifest` builds them.
func TestKrewManifest(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join(root, ".krew.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b := builder{root: root, dir: dir, tag: testTag, log: io.Discard}
	hostAsset := ""
	out, err := render(tmpl, testTag, func(uri string) (string, error) {
		goos, goarch, err := platformOf(path.Base(uri))
		if err != nil || goos != runtime.GOOS || goarch != runtime.GOARCH {
			return strings.Repeat("f", 64), err // not built here: checked by name only
		}
		hostAsset = filepath.Join(dir, path.Base(uri))
		return b.asset(context.Background(), uri)
	})
	if err != nil {
		t.Fatal(err)
	}
	var p plugin
	if err := yaml.UnmarshalStrict(out, &p); err != nil {
		t.Fatalf("the manifest has fields krew does not know, or is no YAML: %v\n%s", err, out)
	}
	checkHeader(t, &p)
	hostBin, hostSHA := checkPlatforms(t, &p)
	if want, _ := fileSHA256(hostAsset); hostSHA != want {
		t.Errorf("host sha256 %s, archive %s", hostSHA, want)
	}
	checkInstalls(t, hostAsset, hostBin)

	// The same source gives the same archive: the sha256 in a manifest can be checked by rebuilding.
	again := builder{root: root, dir: t.TempDir(), tag: testTag, log: io.Discard}
	sum, err := again.asset(context.Background(), "https://example.invalid/"+path.Base(hostAsset))
	if want, _ := fileSHA256(hostAsset); err != nil || sum != want {
		t.Fatalf("rebuilt asset sha256 %s, first %s (%v)", sum, want, err)
	}
}

func checkHeader(t *testing.T, p *plugin) {
	t.Helper()
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" || p.Metadata.Name != "cftoken" ||
		p.Spec.Version != testTag || !strings.HasPrefix(p.Spec.Homepage, "https://") || p.Spec.ShortDescription == "" ||
		len(p.Spec.ShortDescription) > 50 || p.Spec.Description == "" {
		t.Fatalf("manifest header: %+v", p)
	}
}

// checkPlatforms checks every platform's selector, asset, sha256 and bin, and returns the host's bin and sha256.
func checkPlatforms(t *testing.T, p *plugin) (hostBin, hostSHA string) {
	t.Helper()
	seen := map[string]bool{}
	for _, pl := range p.Spec.Platforms {
		goos, goarch := pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]
		key := goos + "/" + goarch
		aos, aarch, err := platformOf(path.Base(pl.URI))
		switch {
		case seen[key]:
			t.Errorf("platform %s listed twice", key)
		case err != nil || aos != goos || aarch != goarch:
			t.Errorf("%s: asset %s is for %s/%s (%v)", key, pl.URI, aos, aarch, err)
		case !strings.HasPrefix(pl.URI, p.Spec.Homepage+"/releases/download/"+testTag+"/"):
			t.Errorf("%s: uri %s is not a release asset of %s", key, pl.URI, testTag)
		case !sha.MatchString(pl.SHA256):
			t.Errorf("%s: sha256 %q", key, pl.SHA256)
		case pl.Bin != executable(goos) || len(pl.Files) != 1 || pl.Files[0].From != pl.Bin:
			t.Errorf("%s: bin %q, files %+v", key, pl.Bin, pl.Files)
		}
		seen[key] = true
		if goos == runtime.GOOS && goarch == runtime.GOARCH {
			hostBin, hostSHA = pl.Bin, pl.SHA256
		}
	}
	for _, want := range []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64"} {
		if !seen[want] {
			t.Errorf("no platform %s", want)
		}
	}
	if hostBin == "" {
		t.Fatalf("the manifest has no asset for this machine (%s/%s)", runtime.GOOS, runtime.GOARCH)
	}
	return hostBin, hostSHA
}

// checkInstalls does what krew does with the asset (unpack, copy the file, run bin) and runs the plugin.
func checkInstalls(t *testing.T, asset, bin string) {
	t.Helper()
	installed := filepath.Join(t.TempDir(), bin)
	extract(t, asset, bin, installed)
	got, err := exec.Command(installed, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(got), "kubectl cftoken version "+testTag) {
		t.Fatalf("%s --version: %v\n%s", installed, err, got)
	}
	if got, err := exec.Command(installed, "status", "--help").CombinedOutput(); err != nil || !strings.Contains(string(got), "kubectl cftoken status") {
		t.Fatalf("status --help: %v\n%s", err, got)
	}
}

func extract(t *testing.T, archive, name, dest string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s has no %s: %v", archive, name, err)
		}
		if h.Name != name {
			continue
		}
		out, err := os.OpenFile(dest, os.O_CREATE|os.O_WRONLY, os.FileMode(h.Mode))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, tr); err != nil {
			t.Fatal(err)
		}
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
}

func TestPlatformOf(t *testing.T) {
	if goos, goarch, err := platformOf("kubectl-cftoken_v1.2.3_linux_arm64.tar.gz"); err != nil || goos != "linux" || goarch != "arm64" {
		t.Fatalf("%s %s %v", goos, goarch, err)
	}
	for _, bad := range []string{"kubectl-cftoken_linux_arm64.zip", "other_v1_linux_amd64.tar.gz", "kubectl-cftoken_linux.tar.gz"} {
		if _, _, err := platformOf(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
