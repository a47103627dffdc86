package ociimage

import (
	"debug/elf"
	"fmt"
	"os"
)

// The user distroless's nonroot images run as (gcr.io/distroless/static:nonroot).
const (
	NonrootUID  = 65532
	NonrootHome = "/home/nonroot"
	// CACertsPath is where distroless (and Debian) keep the CA bundle; Go's crypto/x509 reads it there.
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
)

// DistrolessStaticEnv is the environment gcr.io/distroless/static sets.
var DistrolessStaticEnv = []string{
	"PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin",
	"SSL_CERT_FILE=" + CACertsPath,
}

// DistrolessStaticFiles are what gcr.io/distroless/static:nonroot gives a static binary: the users root,
// nobody and nonroot (65532) with their groups, nonroot's home, a world-writable /tmp, and the CA
// bundle (caCerts, e.g. the host's /etc/ssl/certs/ca-certificates.crt from Debian's ca-certificates, the
// package distroless takes it from).
func DistrolessStaticFiles(caCerts []byte) []File {
	return []File{
		{Path: "/etc/passwd", Mode: 0o644, Data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
				fmt.Sprintf("nonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", NonrootUID, NonrootUID, NonrootHome))},
		{Path: "/etc/group", Mode: 0o644, Data: []byte(
			"root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\n" + fmt.Sprintf("nonroot:x:%d:\n", NonrootUID))},
		{Path: "/etc/nsswitch.conf", Mode: 0o644, Data: []byte("hosts: files dns\n")},
		{Path: CACertsPath, Mode: 0o644, Data: caCerts},
		{Path: NonrootHome, Dir: true, Mode: 0o700, UID: NonrootUID, GID: NonrootUID},
		{Path: "/root", Dir: true, Mode: 0o700},
		{Path: "/tmp", Dir: true, Mode: 0o1777},
	}
}

// StaticBinary reads the executable at path and checks that it is a static ELF program (no interpreter,
// no shared library: it must start on an image with no libc), returning its bytes and GOARCH-style
// architecture.
func StaticBinary(path string) (data []byte, arch string, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s is not an ELF executable: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return nil, "", fmt.Errorf("%s is dynamically linked (%s): build it with CGO_ENABLED=0", path, p.Type)
		}
	}
	switch f.Machine {
	case elf.EM_X86_64:
		arch = "amd64"
	case elf.EM_AARCH64:
		arch = "arm64"
	case elf.EM_S390:
		arch = "s390x"
	case elf.EM_PPC64:
		arch = "ppc64le"
	default:
		return nil, "", fmt.Errorf("%s: unsupported machine %s", path, f.Machine)
	}
	data, err = os.ReadFile(path)
	return data, arch, err
}
