package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// microResult is one line of `go test -bench -benchmem`.
type microResult struct {
	pkg, name                  string
	nsPerOp, bPerOp, allocsPer string
}

// microPackages hold the Go micro-benchmarks of the hot pure functions.
var microPackages = []string{"./internal/controller/cloudflaretokens/", "./internal/controller/tokenname/", "./internal/cloudflare/"}

// runMicro runs the packages' benchmarks (no tests: -run '^$', so no envtest suite starts) and parses them.
func runMicro(ctx context.Context, root, benchtime string) ([]microResult, string, error) {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1", "-benchtime", benchtime},
		microPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, out.String(), fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	var res []microResult
	pkg := ""
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/tokenoperator/cloudflare-token-operator/")
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		r := microResult{pkg: pkg, name: f[0]}
		for i := 2; i+1 < len(f); i += 2 {
			switch f[i+1] {
			case "ns/op":
				r.nsPerOp = f[i]
			case "B/op":
				r.bPerOp = f[i]
			case "allocs/op":
				r.allocsPer = f[i]
			}
		}
		res = append(res, r)
	}
	return res, out.String(), nil
}
