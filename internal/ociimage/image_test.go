package ociimage

import (
	"bytes"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestFullReference(t *testing.T) {
	for in, want := range map[string]string{
		"controller:latest":          "docker.io/library/controller:latest",
		"controller":                 "docker.io/library/controller:latest",
		"example/op:v1":              "docker.io/example/op:v1",
		"registry.example.com/op:v1": "registry.example.com/op:v1",
		"localhost:5000/op":          "localhost:5000/op:latest",
		"localhost/op@sha256:0123":   "localhost/op@sha256:0123",
		"registry.k8s.io/pause:3.10": "registry.k8s.io/pause:3.10",
		"ghcr.io/org/team/op:1.2.3":  "ghcr.io/org/team/op:1.2.3",
	} {
		if got := FullReference(in); got != want {
			t.Errorf("FullReference(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestArchiveRoundTrip writes an image and reads it back: configuration, names, files with owners and
// modes, parents added, and the same inputs giving the same digest.
func TestArchiveRoundTrip(t *testing.T) {
	spec := Spec{
		Arch:   "amd64",
		Config: v1.Config{User: "65532:65532", Entrypoint: []string{"/app"}, WorkingDir: "/", Labels: map[string]string{"a": "b"}},
		Files: append(DistrolessStaticFiles([]byte("CERTS")),
			File{Path: "/app", Mode: 0o755, Data: []byte("binary")},
			File{Path: "/var/lib/x/y", Mode: 0o600, UID: 7, GID: 8, Data: []byte("y")}),
	}
	img, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "img.tar")
	if err := WriteArchive(img, "docker.io/library/x:1", out); err != nil {
		t.Fatal(err)
	}
	a, err := ReadArchive(out)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	if a.Annotations["io.containerd.image.name"] != "docker.io/library/x:1" || a.Annotations["org.opencontainers.image.ref.name"] != "1" {
		t.Errorf("annotations %v", a.Annotations)
	}
	c := a.Config.Config
	if c.User != "65532:65532" || len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/app" || c.Labels["a"] != "b" || a.Config.Architecture != "amd64" || a.Config.OS != "linux" {
		t.Errorf("config %+v", a.Config)
	}
	for p, want := range map[string]File{
		"/app":          mode0755("binary"),
		"/var/lib/x/y":  {Mode: 0o600, UID: 7, GID: 8, Data: []byte("y")},
		"/var/lib/x":    {Mode: 0o755, Dir: true},
		"/tmp":          {Mode: 0o1777, Dir: true},
		"/home/nonroot": {Mode: 0o700, Dir: true, UID: 65532, GID: 65532},
		CACertsPath:     {Mode: 0o644, Data: []byte("CERTS")},
	} {
		got, ok := a.Files[p]
		if !ok {
			t.Errorf("%s missing from the image", p)
			continue
		}
		if got.Mode != want.Mode || got.UID != want.UID || got.GID != want.GID || got.Dir != want.Dir || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("%s = %+v, want %+v", p, got, want)
		}
	}
	again, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("the same spec gave digests %s and %s", d1, d2)
	}
}

func mode0755(data string) File { return File{Mode: 0o755, Data: []byte(data)} }

func TestBuildRefusesBadPaths(t *testing.T) {
	for name, files := range map[string][]File{
		"root":         {{Path: "/", Dir: true}},
		"twice":        {{Path: "/a"}, {Path: "a"}},
		"under a file": {{Path: "/a", Data: []byte("x")}, {Path: "/a/b"}},
	} {
		if _, err := Build(Spec{Files: files}); err == nil {
			t.Errorf("%s: Build accepted %+v", name, files)
		}
	}
}
