// Command image packs the operator's container image without a container engine: the static bin/manager
// on the files of gcr.io/distroless/static:nonroot (its users, CA bundle, /tmp), with the Dockerfile's
// final stage's configuration (WORKDIR /, USER 65532:65532, ENTRYPOINT ["/manager"], its LABELs), written
// as an OCI archive. test/packaging checks that this image and the Dockerfile's describe the same thing.
//
//	go run ./hack/image -binary bin/manager -ref controller:latest -out bin/image/cloudflare-token-operator.tar
package main

import (
	"flag"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/tokenoperator/cloudflare-token-operator/internal/ociimage"
)

// labels are the Dockerfile's LABELs.
var labels = map[string]string{
	"org.opencontainers.image.title":       "cloudflare-token-operator",
	"org.opencontainers.image.description": "Kubernetes operator minting scoped Cloudflare API tokens into Secrets",
	"org.opencontainers.image.source":      "https://github.com/tokenoperator/cloudflare-token-operator",
}

func main() {
	binary := flag.String("binary", "bin/manager", "the manager, a static linux binary (CGO_ENABLED=0)")
	caCerts := flag.String("ca-certs", ociimage.CACertsPath, "the CA bundle to ship (Debian's ca-certificates)")
	ref := flag.String("ref", "controller:latest", "the image reference recorded in the archive (the chart's default image)")
	out := flag.String("out", "bin/image/cloudflare-token-operator.tar", "the OCI archive to write")
	flag.Parse()
	if err := run(*binary, *caCerts, *ref, *out); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(binary, caCertsPath, ref, out string) error {
	manager, arch, err := ociimage.StaticBinary(binary)
	if err != nil {
		return err
	}
	caCerts, err := os.ReadFile(caCertsPath)
	if err != nil {
		return fmt.Errorf("the CA bundle: %w (apt-get install ca-certificates)", err)
	}
	files := append(ociimage.DistrolessStaticFiles(caCerts),
		ociimage.File{Path: "/manager", Mode: 0o755, Data: manager})
	img, err := ociimage.Build(ociimage.Spec{
		Files: files,
		Arch:  arch,
		Config: v1.Config{
			User:       "65532:65532",
			Entrypoint: []string{"/manager"},
			WorkingDir: "/",
			Env:        ociimage.DistrolessStaticEnv,
			Labels:     labels,
		},
	})
	if err != nil {
		return err
	}
	if err := ociimage.WriteArchive(img, ociimage.FullReference(ref), out); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s (%s)\n", out, ociimage.FullReference(ref), digest)
	return nil
}
