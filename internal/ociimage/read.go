package ociimage

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Archive is an OCI archive read back: its one image, the annotations naming it, its files. Image reads
// its blobs from an unpacked copy until Close.
type Archive struct {
	Image       v1.Image
	Config      *v1.ConfigFile
	Annotations map[string]string
	Files       map[string]File // by absolute path, the flattened filesystem
	dir         string
}

// Close removes the unpacked copy.
func (a *Archive) Close() error { return os.RemoveAll(a.dir) }

// ReadArchive unpacks an OCI archive (WriteArchive's format) and reads its only image. Close the result.
func ReadArchive(archive string) (_ *Archive, err error) {
	dir, err := os.MkdirTemp("", "ociimage-read-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	if err := untar(archive, dir); err != nil {
		return nil, fmt.Errorf("unpacking %s: %w", archive, err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%s is not an OCI layout: %w", archive, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(im.Manifests) != 1 {
		return nil, fmt.Errorf("%s holds %d manifests, want 1", archive, len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	files, err := imageFiles(img)
	if err != nil {
		return nil, err
	}
	return &Archive{Image: img, Config: cfg, Annotations: im.Manifests[0].Annotations, Files: files, dir: dir}, nil
}

// imageFiles reads the flattened filesystem of img (its layers' blobs digest-checked as they are read).
func imageFiles(img v1.Image) (map[string]File, error) {
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	files := map[string]File{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the image's layers: %w", err)
		}
		f := File{Path: path.Clean("/" + hdr.Name), Mode: hdr.Mode, UID: hdr.Uid, GID: hdr.Gid, Dir: hdr.Typeflag == tar.TypeDir}
		if hdr.Typeflag == tar.TypeReg {
			if f.Data, err = io.ReadAll(tr); err != nil {
				return nil, err
			}
		}
		files[f.Path] = f
	}
}

// untar unpacks a tar file of regular files and directories into dir, refusing paths that leave it.
func untar(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(path.Clean(hdr.Name))
		if strings.HasPrefix(name, "..") || filepath.IsAbs(name) {
			return fmt.Errorf("entry %q leaves the archive", hdr.Name)
		}
		target := filepath.Join(dir, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			err = writeFile(target, tr)
		default:
			err = fmt.Errorf("entry %q: unexpected type %c", hdr.Name, hdr.Typeflag)
		}
		if err != nil {
			return err
		}
	}
}

func writeFile(target string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	out, err := os.Create(target)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
