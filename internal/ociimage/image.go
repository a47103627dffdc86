// Package ociimage builds container images without a container engine: one layer of files on an empty
// base, written as an OCI image layout packed in a tar file (an "OCI archive", which `ctr images import`,
// skopeo and podman load). `make image` packs the operator's image this way (hack/image); the one-node
// cluster (hack/cluster) packs its pause image the same way.
package ociimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one entry of the image's only layer.
type File struct {
	Path     string // absolute, e.g. /etc/passwd
	Mode     int64  // permission bits (and sticky), e.g. 0o644, 0o1777
	UID, GID int
	Dir      bool
	Data     []byte
}

// Spec is an image: its files and its runtime configuration.
type Spec struct {
	Files  []File
	Config v1.Config // User, Entrypoint, WorkingDir, Env, Labels
	// Arch is the platform's architecture (the binaries'), e.g. amd64.
	Arch string
}

// epoch is every timestamp in the image (file times, creation date): the same inputs give the same digest.
var epoch = time.Unix(0, 0).UTC()

// Build assembles the image: an OCI manifest with one gzip layer holding spec.Files (parent directories
// added as root-owned 0755 when not listed) on an empty base.
func Build(spec Spec) (v1.Image, error) {
	layerTar, err := layerTar(spec.Files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: spec.Arch,
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		Config:       spec.Config,
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "ociimage.Build", Comment: "one layer, no engine"},
	})
	if err != nil {
		return nil, fmt.Errorf("appending the layer: %w", err)
	}
	return img, nil
}

// layerTar is the tar stream of files, sorted by path, parents first.
func layerTar(files []File) ([]byte, error) {
	byPath := map[string]File{}
	for _, f := range files {
		p := path.Clean("/" + f.Path)
		if p == "/" {
			return nil, fmt.Errorf("file %q: the root is not an entry", f.Path)
		}
		if _, dup := byPath[p]; dup {
			return nil, fmt.Errorf("file %s listed twice", p)
		}
		f.Path = p
		byPath[p] = f
		for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
			if _, ok := byPath[dir]; !ok {
				byPath[dir] = File{Path: dir, Dir: true, Mode: 0o755}
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		f := byPath[p]
		if parent := byPath[path.Dir(p)]; path.Dir(p) != "/" && !parent.Dir {
			return nil, fmt.Errorf("%s is under %s, a file", p, parent.Path)
		}
		hdr := &tar.Header{
			Name: strings.TrimPrefix(p, "/"), Mode: f.Mode, Uid: f.UID, Gid: f.GID,
			ModTime: epoch, Format: tar.FormatPAX,
		}
		if f.Dir {
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		} else {
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// RefAnnotations name the image inside an OCI archive: containerd's import takes the full reference from
// io.containerd.image.name, other tools the tag from org.opencontainers.image.ref.name.
func RefAnnotations(ref string) map[string]string {
	tag := ref
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		tag = ref[i+1:]
	}
	return map[string]string{
		"io.containerd.image.name":          ref,
		"org.opencontainers.image.ref.name": tag,
	}
}

// WriteArchive writes img as an OCI image layout (index.json naming it ref, see RefAnnotations) packed
// in a tar file at out. The file appears whole or not at all.
func WriteArchive(img v1.Image, ref, out string) error {
	dir, err := os.MkdirTemp("", "ociimage-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("OCI layout: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	platform := v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture}
	if err := p.AppendImage(img, layout.WithAnnotations(RefAnnotations(ref)), layout.WithPlatform(platform)); err != nil {
		return fmt.Errorf("OCI layout: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".partial"
	if err := tarDir(dir, tmp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}

// tarDir packs the regular files and directories under dir into a tar file, sorted, with fixed times.
func tarDir(dir, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name, hdr.ModTime, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = filepath.ToSlash(rel), epoch, 0, 0, "", ""
		hdr.Mode = 0o644
		if d.IsDir() {
			hdr.Name, hdr.Mode = hdr.Name+"/", 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer func() { _ = src.Close() }()
		_, err = io.Copy(tw, src)
		return err
	})
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("packing the OCI layout into %s: %w", out, err)
	}
	return nil
}

// FullReference is ref as containerd and the kubelet name it: docker.io/library/ for a bare name, the
// docker.io/ domain for a path without one, :latest when no tag or digest is given (controller:latest ->
// docker.io/library/controller:latest). An imported image is found by that name only.
func FullReference(ref string) string {
	first, rest, hasSlash := strings.Cut(ref, "/")
	switch {
	case !hasSlash:
		ref = "docker.io/library/" + ref
	case !strings.ContainsAny(first, ".:") && first != "localhost":
		ref = "docker.io/" + first + "/" + rest
	}
	lastPart := ref[strings.LastIndex(ref, "/")+1:]
	if !strings.Contains(lastPart, ":") && !strings.Contains(lastPart, "@") {
		ref += ":latest"
	}
	return ref
}
