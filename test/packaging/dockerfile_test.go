package packaging

import (
	"bufio"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

// dockerInstr is one instruction of a Dockerfile, continuation lines joined.
type dockerInstr struct {
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
}

// dockerStage is one FROM ... [AS name] and its instructions.
type dockerStage struct {
	image, name string
	instrs      []dockerInstr
}

func parseDockerfile(t *testing.T, path string) []dockerStage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var stages []dockerStage
	var line strings.Builder
	sc := bufio.NewScanner(f)
	flush := func() {
		text := strings.TrimSpace(line.String())
		line.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		cmd, args = strings.ToUpper(cmd), strings.TrimSpace(args)
		if cmd == "FROM" {
			fields := strings.Fields(args)
			st := dockerStage{image: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.name = fields[2]
			}
			stages = append(stages, st)
			return
		}
		if len(stages) == 0 {
			return // ARGs before the first FROM
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, dockerInstr{cmd, args})
	}
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(l, `\`); ok {
			line.WriteString(cont + " ")
			continue
		}
		line.WriteString(l)
		flush()
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

// shellWords splits a simple shell command line: whitespace, single and double quotes, ${VAR} and
// ${VAR:-default} expanded from vars (the stage's ARGs, unset = empty, as in a docker build without
// --build-arg and without BuildKit's automatic platform args).
func shellWords(t *testing.T, s string, vars map[string]string) []string {
	t.Helper()
	expand := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
	sub := func(v string) string {
		return expand.ReplaceAllStringFunc(v, func(m string) string {
			g := expand.FindStringSubmatch(m)
			name := g[1] + g[4]
			if val := vars[name]; val != "" {
				return val
			}
			return g[3]
		})
	}
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		case '\'', '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				t.Fatalf("unbalanced quote in %q", s)
			}
			q := s[i+1 : i+1+j]
			if c == '"' {
				q = sub(q)
			}
			cur.WriteString(q)
			inWord, i = true, i+1+j
		case '&', ';', '|':
			t.Fatalf("the build RUN line is a compound command (%q): keep it a single go build", s)
		default:
			j := strings.IndexAny(s[i:], " \t'\"")
			if j < 0 {
				j = len(s) - i
			}
			cur.WriteString(sub(s[i : i+j]))
			inWord, i = true, i+j-1
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// goBuild is the builder stage's build: environment assignments, go build's arguments, the output path
// inside the image and the WORKDIR.
type goBuild struct {
	env     map[string]string
	args    []string
	output  string
	workdir string
}

func builderBuild(t *testing.T, stage dockerStage) goBuild {
	t.Helper()
	vars := map[string]string{}
	workdir := "/"
	for _, in := range stage.instrs {
		switch in.cmd {
		case "ARG":
			name, val, _ := strings.Cut(in.args, "=")
			vars[name] = val
		case "WORKDIR":
			workdir = in.args
		case "RUN":
			words := shellWords(t, in.args, vars)
			b := goBuild{env: map[string]string{}, workdir: workdir}
			for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
				k, v, _ := strings.Cut(words[0], "=")
				b.env[k], words = v, words[1:]
			}
			if len(words) < 2 || words[0] != "go" || words[1] != "build" {
				continue
			}
			b.args = words[2:]
			for i, a := range b.args {
				if a == "-o" && i+1 < len(b.args) {
					b.output = b.args[i+1]
				}
			}
			if b.output == "" {
				t.Fatalf("the Dockerfile's go build has no -o: %q", in.args)
			}
			return b
		}
	}
	t.Fatalf("no RUN ... go build in stage %s", stage.name)
	return goBuild{}
}

// TestDockerfile builds the manager exactly as the Dockerfile's builder stage does (its environment and
// flags, from a copy of the build context as .dockerignore filters it), and checks that the result is a
// static binary that the final, distroless nonroot stage copies and runs as 65532.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join(testutil.RepoRoot(), "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}
	builder, final := stages[0], stages[len(stages)-1]
	if !strings.HasPrefix(builder.image, "golang:") {
		t.Errorf("builder stage FROM %s, want golang:<version>", builder.image)
	}
	b := builderBuild(t, builder)
	checkBuildCommand(t, b)
	checkFinalStage(t, final, builder.name, filepath.Join(b.workdir, b.output))
	out := dockerfileBinary(t)

	checkStatic(t, out)
	checkVersion(t, out, builder)
	info, err := buildinfo.ReadFile(out)
	if err != nil {
		t.Fatalf("build info of %s: %v", out, err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" || settings["GOOS"] != "linux" {
		t.Errorf("binary built with CGO_ENABLED=%q -trimpath=%q GOOS=%q", settings["CGO_ENABLED"],
			settings["-trimpath"], settings["GOOS"])
	}
}

// checkVersion runs the binary with --version: it reports the builder stage's ARG VERSION, which the build
// passes with -ldflags -X (docker build --build-arg VERSION=... overrides it).
func checkVersion(t *testing.T, bin string, builder dockerStage) {
	t.Helper()
	want := ""
	for _, in := range builder.instrs {
		if name, val, ok := strings.Cut(in.args, "="); in.cmd == "ARG" && ok && name == "VERSION" {
			want = val
		}
	}
	if want == "" {
		t.Fatal("the builder stage has no ARG VERSION=<default>")
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", bin, err)
	}
	if got := strings.TrimSpace(string(out)); got != "cloudflare-token-operator "+want {
		t.Errorf("%s --version printed %q, want %q (-ldflags -X main.version=${VERSION})", bin, got,
			"cloudflare-token-operator "+want)
	}
}

// checkBuildCommand checks what the build command must say, whatever else it says.
func checkBuildCommand(t *testing.T, b goBuild) {
	t.Helper()
	if b.env["CGO_ENABLED"] != "0" {
		t.Errorf("the build runs with CGO_ENABLED=%q, want 0 (a static binary)", b.env["CGO_ENABLED"])
	}
	if b.env["GOOS"] != "linux" {
		t.Errorf("the build runs with GOOS=%q, want linux", b.env["GOOS"])
	}
	for _, flag := range []string{"-trimpath", "-ldflags"} {
		if !slices.ContainsFunc(b.args, func(a string) bool { return a == flag || strings.HasPrefix(a, flag+"=") }) {
			t.Errorf("the build lacks %s: %q", flag, b.args)
		}
	}
	if last := b.args[len(b.args)-1]; last != "cmd/main.go" && last != "./cmd" {
		t.Errorf("the build compiles %q, want ./cmd", last)
	}
}

// checkFinalStage: distroless static nonroot, the binary copied from the builder, user 65532.
func checkFinalStage(t *testing.T, final dockerStage, builderName, binaryInImage string) {
	t.Helper()
	if !strings.HasPrefix(final.image, "gcr.io/distroless/static") || !strings.Contains(final.image, "nonroot") {
		t.Errorf("final stage FROM %s, want gcr.io/distroless/static:nonroot", final.image)
	}
	var user, entrypoint string
	var copied bool
	for _, in := range final.instrs {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) == 3 && f[0] == "--from="+builderName && f[1] == binaryInImage {
				copied = true
			}
		}
	}
	if user != "65532:65532" {
		t.Errorf("final stage USER %q, want 65532:65532", user)
	}
	if !copied {
		t.Errorf("the final stage does not COPY --from=%s %s", builderName, binaryInImage)
	}
	if entrypoint != `["/manager"]` {
		t.Errorf("ENTRYPOINT %s, want [\"/manager\"]", entrypoint)
	}
}

// built is the manager as the Dockerfile builds it, built once for the tests that need it.
var built struct {
	once sync.Once
	path string
	err  string
}

// dockerfileBinary builds the manager as the Dockerfile's builder stage does (once) and returns its path.
func dockerfileBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		stages := parseDockerfile(t, filepath.Join(testutil.RepoRoot(), "Dockerfile"))
		built.path, built.err = runDockerBuild(t, builderBuild(t, stages[0]))
	})
	if built.err != "" {
		t.Fatal(built.err)
	}
	if built.path == "" {
		t.Fatal("the Dockerfile's build failed in an earlier test")
	}
	return built.path
}

// runDockerBuild runs the builder's go build in a copy of the build context and returns the binary's path
// (under workDir, which outlives the test), or what went wrong.
func runDockerBuild(t *testing.T, b goBuild) (string, string) {
	t.Helper()
	ctxDir := t.TempDir()
	copyContext(t, testutil.RepoRoot(), ctxDir)
	out := filepath.Join(workDir, "manager")
	args := make([]string, 0, len(b.args)+1)
	for i := 0; i < len(b.args); i++ {
		switch b.args[i] {
		case "-a":
			// -a only disables the build cache (a fresh image layer has none anyway); it does not change the
			// binary, and with it every run would recompile the standard library and all of k8s.io (minutes).
		case "-o":
			args = append(args, "-o", out)
			i++
		default:
			args = append(args, b.args[i])
		}
	}
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = ctxDir
	cmd.Env = buildEnv(b.env)
	start := time.Now()
	if o, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Sprintf("go build %q in the build context (env %v): %v\n%s", args, b.env, err, o)
	}
	t.Logf("go build %s (env %v) took %s", strings.Join(args, " "), b.env, time.Since(start).Round(time.Second))
	return out, ""
}

// checkStatic fails unless the ELF file has no program interpreter and needs no shared library.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s is not an ELF binary: %v", path, err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %s program header: dynamically linked, it would not start on distroless/static", path, p.Type)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatalf("reading %s's dynamic section: %v", path, err)
	}
	if len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", path, libs)
	}
}

// buildEnv is this process's environment without what would change the build, plus the Dockerfile's.
func buildEnv(dockerEnv map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "GOOS", "GOARCH", "CGO_ENABLED", "GOWORK", "GOEXPERIMENT", "CC", "CGO_LDFLAGS", "CGO_CFLAGS":
			continue
		}
		env = append(env, kv)
	}
	for k, v := range dockerEnv {
		env = append(env, k+"="+v)
	}
	return append(env, "GOWORK=off")
}

// copyContext copies into dst the files of src that .dockerignore lets into the build context.
func copyContext(t *testing.T, src, dst string) {
	t.Helper()
	ignore := readDockerignore(t, filepath.Join(src, ".dockerignore"))
	n := 0
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || ignore.excluded(filepath.ToSlash(rel)) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		n++
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copying the build context: %v", err)
	}
	if n == 0 {
		t.Fatal(".dockerignore lets no file into the build context")
	}
}

type ignoreRule struct {
	re     *regexp.Regexp
	negate bool
}

type dockerignore []ignoreRule

// readDockerignore reads .dockerignore's patterns (Go filepath.Match syntax plus **, the last matching
// pattern wins, a pattern that matches a directory matches everything under it, ! re-includes).
func readDockerignore(t *testing.T, path string) dockerignore {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	var rules dockerignore
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		r := ignoreRule{}
		if rest, ok := strings.CutPrefix(l, "!"); ok {
			r.negate, l = true, rest
		}
		l = strings.Trim(filepath.ToSlash(filepath.Clean(l)), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(l); i++ {
			switch c := l[i]; c {
			case '*':
				if strings.HasPrefix(l[i:], "**/") {
					re.WriteString("(.*/)?")
					i += 2
				} else if strings.HasPrefix(l[i:], "**") {
					re.WriteString(".*")
					i++
				} else {
					re.WriteString("[^/]*")
				}
			case '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("(/.*)?$") // a directory pattern covers what is under it
		r.re = regexp.MustCompile(re.String())
		rules = append(rules, r)
	}
	return rules
}

func (d dockerignore) excluded(rel string) bool {
	out := false
	for _, r := range d {
		if r.re.MatchString(rel) {
			out = !r.negate
		}
	}
	return out
}
