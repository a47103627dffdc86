package localcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// ObjectRef names one object of a manifest stream.
type ObjectRef struct {
	APIVersion, Kind, Namespace, Name string
}

func (o ObjectRef) String() string {
	if o.Namespace != "" {
		return fmt.Sprintf("%s %s/%s", o.Kind, o.Namespace, o.Name)
	}
	return o.Kind + " " + o.Name
}

// FilterManifests keeps the documents of a multi-document YAML stream for which keep is true and returns
// them as a stream again, with the references of what it dropped.
func FilterManifests(stream []byte, keep func(ObjectRef) bool) (kept []byte, dropped []ObjectRef, err error) {
	kept, err = MapManifests(stream, func(ref ObjectRef, doc []byte) ([]byte, error) {
		if !keep(ref) {
			dropped = append(dropped, ref)
			return nil, nil
		}
		return doc, nil
	})
	return kept, dropped, err
}

// MapManifests passes each document of a multi-document YAML stream through f and returns the documents f
// returned (nil drops one) as a stream again. Comment-only documents are dropped.
func MapManifests(stream []byte, f func(ref ObjectRef, doc []byte) ([]byte, error)) ([]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var out bytes.Buffer
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("a document of the stream: %w", err)
		}
		if head.Kind == "" {
			continue // a comment-only document
		}
		ref := ObjectRef{APIVersion: head.APIVersion, Kind: head.Kind, Namespace: head.Metadata.Namespace, Name: head.Metadata.Name}
		doc, err = f(ref, doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		if doc == nil {
			continue
		}
		if out.Len() > 0 {
			out.WriteString("---\n")
		}
		out.Write(bytes.TrimRight(doc, "\n"))
		out.WriteString("\n")
	}
	return out.Bytes(), nil
}

// KustomizeBuild runs `kustomize build dir` (dir relative to the repository) with bin/kustomize.
func (b Binaries) KustomizeBuild(ctx context.Context, dir string) ([]byte, error) {
	if b.Kustomize == "" {
		return nil, errors.New("kustomize was not built: BuildOptions{Kustomize: true}")
	}
	cmd := exec.CommandContext(ctx, b.Kustomize, "build", dir)
	cmd.Dir = b.Root
	out, err := run(cmd)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(out) == "" {
		return nil, fmt.Errorf("kustomize build %s gave nothing", dir)
	}
	return []byte(out), nil
}
