// Command krew builds the release assets of kubectl-cftoken and its krew manifest: for every platform
// .krew.yaml lists, a static binary in kubectl-cftoken_<tag>_<os>_<arch>.tar.gz, and the manifest with
// each asset's URI and sha256 (`make krew-manifest TAG=v0.1.0`; output in bin/krew/). Upload the archives
// to the GitHub release of the tag, then submit bin/krew/cftoken.yaml to krew-index (or let
// krew-release-bot render .krew.yaml from the uploaded assets: it gives the same manifest).
//
// To try the manifest before a release:
//
//	kubectl krew install --manifest=bin/krew/cftoken.yaml --archive=bin/krew/kubectl-cftoken_<tag>_<os>_<arch>.tar.gz
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	tag := flag.String("tag", "", "release tag, e.g. v0.1.0 (required)")
	root := flag.String("root", ".", "the repository")
	out := flag.String("out", "bin/krew", "where the archives and cftoken.yaml go")
	flag.Parse()
	if err := run(context.Background(), *root, *out, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "krew:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, root, out, tag string) error {
	if tag == "" {
		return fmt.Errorf("-tag is required (the release tag, e.g. v0.1.0)")
	}
	tmpl, err := os.ReadFile(filepath.Join(root, ".krew.yaml"))
	if err != nil {
		return err
	}
	if out, err = filepath.Abs(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	b := builder{root: root, dir: out, tag: tag, log: os.Stderr}
	manifest, err := render(tmpl, tag, func(uri string) (string, error) { return b.asset(ctx, uri) })
	if err != nil {
		return err
	}
	dest := filepath.Join(out, "cftoken.yaml")
	if err := os.WriteFile(dest, manifest, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", dest)
	return nil
}
