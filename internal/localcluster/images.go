package localcluster

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tokenoperator/cloudflare-token-operator/internal/ociimage"
)

// buildPauseImage builds internal/localcluster/pause statically and packs it as PauseImage into
// dir/pause.tar.
func buildPauseImage(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "pause")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./internal/localcluster/pause")
	cmd.Dir, cmd.Env = root, append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if _, err := run(cmd); err != nil {
		return "", err
	}
	data, arch, err := ociimage.StaticBinary(bin)
	if err != nil {
		return "", err
	}
	img, err := ociimage.Build(ociimage.Spec{
		Files:  []ociimage.File{{Path: "/pause", Mode: 0o755, Data: data}},
		Arch:   arch,
		Config: v1.Config{Entrypoint: []string{"/pause"}, User: "65535:65535"},
	})
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "pause.tar")
	return out, ociimage.WriteArchive(img, PauseImage, out)
}

// imageRegistry is an in-memory OCI registry on loopback that containerd uses as docker.io's mirror,
// serving the images of opts.Images: a Pod whose image policy is Always (an image tagged latest without
// imagePullPolicy, as in dist/install.yaml) pulls them from there.
type imageRegistry struct {
	srv  *http.Server
	port int
}

// startRegistry serves the registry and pushes opts.Images to it under their names' repositories.
func (c *Cluster) startRegistry() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	handler := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r := &imageRegistry{srv: &http.Server{Handler: handler, ReadHeaderTimeout: time.Minute}, port: l.Addr().(*net.TCPAddr).Port}
	go func() { _ = r.srv.Serve(l) }()
	c.registry = r
	for _, archive := range c.opts.Images {
		if err := pushArchive(archive, r.port); err != nil {
			return 0, err
		}
	}
	return r.port, nil
}

func (r *imageRegistry) stop() error {
	if r == nil {
		return nil
	}
	return r.srv.Close()
}

// pushArchive pushes the image of an OCI archive to the registry on 127.0.0.1:port, under the repository
// and tag of its docker.io name.
func pushArchive(archive string, port int) error {
	a, err := ociimage.ReadArchive(archive)
	if err != nil {
		return err
	}
	defer func() { _ = a.Close() }()
	full := a.Annotations["io.containerd.image.name"]
	repoTag, ok := strings.CutPrefix(full, "docker.io/")
	if !ok {
		return fmt.Errorf("%s names %q: only docker.io images are mirrored", archive, full)
	}
	ref, err := name.ParseReference(fmt.Sprintf("127.0.0.1:%d/%s", port, repoTag), name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(ref, a.Image); err != nil {
		return fmt.Errorf("pushing %s to the local registry: %w", full, err)
	}
	return nil
}
