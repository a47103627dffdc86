package packaging

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tokenoperator/cloudflare-token-operator/internal/ociimage"
	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

// TestImageMatchesDockerfile packs the image as `make image` does (its go build is the Dockerfile's, its
// packer hack/image) and checks that the archive describes the image the Dockerfile's final stage builds
// on distroless/static:nonroot: the same user, entrypoint, working directory and labels, the Dockerfile's
// binary at the entrypoint, and what the distroless base provides (the user's passwd and group entries
// and home, the CA bundle, a writable /tmp).
func TestImageMatchesDockerfile(t *testing.T) {
	root := testutil.RepoRoot()
	stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	builder, final := stages[0], stages[len(stages)-1]
	want := finalStageConfig(t, final, builder.name)

	makeBuild, makePack := makeImageCommands(t, root, builderArgs(builder))
	checkSameBuild(t, builderBuild(t, builder), makeBuild)

	binary := dockerfileBinary(t)
	archive := filepath.Join(t.TempDir(), "image.tar")
	args := append(slices.Clone(makePack[2:]), "-binary", binary, "-out", archive) // later flags win
	pack := exec.Command("go", append([]string{"run"}, args...)...)
	pack.Dir = root
	if out, err := pack.CombinedOutput(); err != nil {
		t.Fatalf("go run %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	img, err := ociimage.ReadArchive(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = img.Close() }()
	got := img.Config.Config

	if got.User != want.user {
		t.Errorf("image user %q, the Dockerfile's USER %q", got.User, want.user)
	}
	if !slices.Equal(got.Entrypoint, want.entrypoint) || len(got.Cmd) != 0 {
		t.Errorf("image entrypoint %q cmd %q, the Dockerfile's ENTRYPOINT %q and no CMD", got.Entrypoint, got.Cmd, want.entrypoint)
	}
	if got.WorkingDir != want.workdir {
		t.Errorf("image working directory %q, the Dockerfile's WORKDIR %q", got.WorkingDir, want.workdir)
	}
	if len(want.labels) == 0 || !mapsEqual(got.Labels, want.labels) {
		t.Errorf("image labels %v, the Dockerfile's LABELs %v", got.Labels, want.labels)
	}
	if img.Config.OS != "linux" || img.Annotations["io.containerd.image.name"] != "docker.io/library/controller:latest" {
		t.Errorf("image os %q named %q, want linux and docker.io/library/controller:latest (make image's default IMG)",
			img.Config.OS, img.Annotations["io.containerd.image.name"])
	}

	// The Dockerfile's COPY: the builder's binary, executable, where the entrypoint runs it.
	wantBinary, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	for dst := range want.copies {
		f, ok := img.Files[dst]
		switch {
		case !ok:
			t.Errorf("the Dockerfile copies the manager to %s; the image has no such file", dst)
		case !bytes.Equal(f.Data, wantBinary):
			t.Errorf("%s in the image is not the binary the Dockerfile builds (%d bytes, want %d)", dst, len(f.Data), len(wantBinary))
		case f.Mode&0o005 != 0o005:
			t.Errorf("%s has mode %o: user %s cannot run it", dst, f.Mode, want.user)
		}
	}
	checkDistrolessBase(t, img, want.user)
}

// checkDistrolessBase: what gcr.io/distroless/static:nonroot gives the binary.
func checkDistrolessBase(t *testing.T, img *ociimage.Archive, user string) {
	t.Helper()
	uid, gid, _ := strings.Cut(user, ":")
	passwd := img.Files["/etc/passwd"]
	var home string
	for _, line := range strings.Split(string(passwd.Data), "\n") {
		f := strings.Split(line, ":")
		if len(f) == 7 && f[2] == uid && f[3] == gid {
			home = f[5]
		}
	}
	if home == "" {
		t.Errorf("/etc/passwd has no entry for %s:\n%s", user, passwd.Data)
	} else if h, ok := img.Files[home]; !ok || !h.Dir || h.UID != ociimage.NonrootUID {
		t.Errorf("the home %s of %s is missing or not owned by it: %+v", home, user, h)
	}
	if !strings.Contains(string(img.Files["/etc/group"].Data), ":"+gid+":") {
		t.Errorf("/etc/group has no group %s", gid)
	}
	pool := x509.NewCertPool()
	if certs := img.Files[ociimage.CACertsPath]; !pool.AppendCertsFromPEM(certs.Data) {
		t.Errorf("%s holds no PEM certificate (%d bytes): TLS to Cloudflare would fail", ociimage.CACertsPath, len(certs.Data))
	}
	if tmp := img.Files["/tmp"]; !tmp.Dir || tmp.Mode != 0o1777 {
		t.Errorf("/tmp is %+v, want a directory with mode 1777", tmp)
	}
	for _, env := range []string{"SSL_CERT_FILE=" + ociimage.CACertsPath, "PATH="} {
		if !slices.ContainsFunc(img.Config.Config.Env, func(e string) bool { return strings.HasPrefix(e, env) }) {
			t.Errorf("image env %q lacks distroless's %s", img.Config.Config.Env, env)
		}
	}
}

type imageConfig struct {
	user, workdir string
	entrypoint    []string
	labels        map[string]string
	copies        map[string]bool // absolute destinations of COPY --from=<builder>
}

// finalStageConfig reads the final stage's USER, WORKDIR, ENTRYPOINT (exec form), LABELs and COPY
// destinations; the base's WORKDIR and USER apply when the stage sets none.
func finalStageConfig(t *testing.T, final dockerStage, builderName string) imageConfig {
	t.Helper()
	c := imageConfig{user: "65532", workdir: ociimage.NonrootHome, labels: map[string]string{}, copies: map[string]bool{}}
	for _, in := range final.instrs {
		switch in.cmd {
		case "USER":
			c.user = in.args
		case "WORKDIR":
			if path.IsAbs(in.args) {
				c.workdir = path.Clean(in.args)
			} else {
				c.workdir = path.Join(c.workdir, in.args)
			}
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.args), &c.entrypoint); err != nil {
				t.Fatalf("ENTRYPOINT %s is not the exec (JSON) form: %v", in.args, err)
			}
		case "LABEL":
			for _, kv := range shellWords(t, in.args, nil) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("LABEL %q: want key=value", kv)
				}
				c.labels[k] = v
			}
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) == 3 && f[0] == "--from="+builderName {
				dst := f[2]
				if !path.IsAbs(dst) {
					dst = path.Join(c.workdir, dst)
				}
				if strings.HasSuffix(f[2], "/") || f[2] == "." {
					dst = path.Join(dst, path.Base(f[1]))
				}
				c.copies[dst] = true
			}
		}
	}
	if len(c.copies) == 0 {
		t.Fatalf("the final stage copies nothing from %s", builderName)
	}
	return c
}

// builderArgs are the builder stage's ARGs with their defaults, as make variables (VERSION=dev): what
// `make docker-build` passes as --build-arg, so that both builds get the same value.
func builderArgs(stage dockerStage) []string {
	var vars []string
	for _, in := range stage.instrs {
		if name, val, ok := strings.Cut(in.args, "="); in.cmd == "ARG" && ok {
			vars = append(vars, name+"="+val)
		}
	}
	return vars
}

// makeImageCommands reads `make -n image` (with vars): its go build line and its go run ./hack/image line,
// as words.
func makeImageCommands(t *testing.T, root string, vars []string) (build goBuild, pack []string) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory", "-n", "image"}, vars...)...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n image: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		words := shellWords(t, line, nil)
		var env = map[string]string{}
		for len(words) > 0 && strings.Contains(words[0], "=") {
			k, v, _ := strings.Cut(words[0], "=")
			env[k], words = v, words[1:]
		}
		switch {
		case len(words) > 2 && words[0] == "go" && words[1] == "build":
			build = goBuild{env: env, args: words[2:]}
		case len(words) > 2 && words[0] == "go" && words[1] == "run" && words[2] == "./hack/image":
			pack = words
		}
	}
	if build.args == nil || pack == nil {
		t.Fatalf("make -n image has no go build or no go run ./hack/image:\n%s", out)
	}
	return build, pack
}

// checkSameBuild: make image's go build has the Dockerfile's environment and flags (but for -a, which
// only disables the cache, and -o).
func checkSameBuild(t *testing.T, docker, mk goBuild) {
	t.Helper()
	for k, v := range docker.env {
		if v != "" && mk.env[k] != v {
			t.Errorf("make image builds with %s=%q, the Dockerfile with %q", k, mk.env[k], v)
		}
	}
	flags := func(args []string) []string {
		var out []string
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case "-a":
			case "-o":
				i++
			default:
				out = append(out, args[i])
			}
		}
		return out
	}
	if d, m := flags(docker.args), flags(mk.args); !slices.Equal(d, m) {
		t.Errorf("make image runs go build %q, the Dockerfile go build %q", m, d)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
