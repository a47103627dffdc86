package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Binary is the plugin's executable name; krew runs it as `kubectl cftoken`.
const Binary = "kubectl-cftoken"

// platformOf reads os and arch from an asset name kubectl-cftoken_<tag>_<os>_<arch>.tar.gz.
func platformOf(asset string) (goos, goarch string, err error) {
	base := strings.TrimSuffix(asset, ".tar.gz")
	parts := strings.Split(base, "_")
	if base == asset || len(parts) < 4 || parts[0] != Binary {
		return "", "", fmt.Errorf("asset %q is not named %s_<tag>_<os>_<arch>.tar.gz", asset, Binary)
	}
	return parts[len(parts)-2], parts[len(parts)-1], nil
}

// builder builds release assets from the repository at root into dir.
type builder struct {
	root, dir, tag string
	log            io.Writer
}

// asset builds the archive a manifest URI names (its last path element) and returns its sha256.
func (b builder) asset(ctx context.Context, uri string) (string, error) {
	name := path.Base(uri)
	goos, goarch, err := platformOf(name)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(b.dir, goos+"_"+goarch, executable(goos))
	if err := b.build(ctx, goos, goarch, bin); err != nil {
		return "", err
	}
	archive := filepath.Join(b.dir, name)
	if err := writeTarGz(archive, bin); err != nil {
		return "", err
	}
	return fileSHA256(archive)
}

func executable(goos string) string {
	if goos == "windows" {
		return Binary + ".exe"
	}
	return Binary
}

// build compiles a static, reproducible binary: no cgo, no paths, no VCS stamp, the tag as its version.
func (b builder) build(ctx context.Context, goos, goarch, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -X github.com/tokenoperator/cloudflare-token-operator/internal/cftokencli.Version="+b.tag,
		"-o", out, "./cmd/kubectl-cftoken")
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	cmd.Stdout, cmd.Stderr = b.log, b.log
	fmt.Fprintf(b.log, "GOOS=%s GOARCH=%s go build -o %s ./cmd/kubectl-cftoken\n", goos, goarch, out)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building for %s/%s: %w", goos, goarch, err)
	}
	return nil
}

// writeTarGz archives one executable at the archive's top level, with fixed times and owners, so that the
// same binary always gives the same archive and sha256.
func writeTarGz(archive, bin string) error {
	data, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	f, err := os.Create(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	hdr := &tar.Header{Name: filepath.Base(bin), Mode: 0o755, Size: int64(len(data)), ModTime: time.Unix(0, 0),
		Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Close()
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
