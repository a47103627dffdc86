package v1alpha1_test

import (
	"fmt"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// explainGaps walks a schema the way `kubectl explain --recursive` does and lists every property whose
// documentation falls short: no description; a schema default its description does not mention; no example
// (except inside types borrowed from Kubernetes, whose documentation is theirs).
func explainGaps(path string, schema map[string]any, borrowed bool) []string {
	var gaps []string
	props, _ := schema["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p, _ := props[name].(map[string]any)
		at := path + "." + name
		desc, _ := p["description"].(string)
		lower := strings.ToLower(desc)
		switch {
		case strings.TrimSpace(desc) == "":
			gaps = append(gaps, at+": no description")
		case p["default"] != nil && !strings.Contains(lower, "default"):
			gaps = append(gaps, fmt.Sprintf("%s: default %v not mentioned in its description", at, p["default"]))
		case !borrowed && !strings.Contains(lower, "example"):
			gaps = append(gaps, at+": no example in its description")
		}
		inner := borrowed || at == "spec.namespaceSelector"
		gaps = append(gaps, explainGaps(at, p, inner)...)
		if items, ok := p["items"].(map[string]any); ok {
			gaps = append(gaps, explainGaps(at+"[]", items, inner)...)
		}
		if more, ok := p["additionalProperties"].(map[string]any); ok {
			gaps = append(gaps, explainGaps(at+"{}", more, inner)...)
		}
	}
	return gaps
}

var _ = Describe("kubectl explain on the real API server", func() {
	for _, crd := range []string{"cloudflaretokens", "tokenissuers", "clustertokenissuers"} {
		It("documents every spec field of "+crd+" with its default and an example", func() {
			u := &unstructured.Unstructured{}
			u.SetAPIVersion("apiextensions.k8s.io/v1")
			u.SetKind("CustomResourceDefinition")
			Expect(k8sClient.Get(ctx, types.NamespacedName{Name: crd + ".cloudflare.tokenoperator.dev"}, u)).To(Succeed())
			versions, _, err := unstructured.NestedSlice(u.Object, "spec", "versions")
			Expect(err).NotTo(HaveOccurred())
			Expect(versions).NotTo(BeEmpty())
			for _, v := range versions {
				spec, found, err := unstructured.NestedMap(v.(map[string]any), "schema", "openAPIV3Schema", "properties", "spec")
				Expect(err).NotTo(HaveOccurred())
				Expect(found).To(BeTrue())
				Expect(spec["properties"]).NotTo(BeEmpty())
				Expect(explainGaps("spec", spec, false)).To(BeEmpty())
			}
		})
	}

	It("finds the gaps it looks for", func() {
		// The walk itself: a field without a description, a default the description hides, no example.
		schema := map[string]any{"properties": map[string]any{
			"a": map[string]any{"type": "string"},
			"b": map[string]any{"default": "x", "description": "b is b. Example: y."},
			"c": map[string]any{"description": "c is c.", "items": map[string]any{"properties": map[string]any{
				"d": map[string]any{"description": "d. Example: 1."}, "e": map[string]any{}}}},
		}}
		Expect(explainGaps("spec", schema, false)).To(Equal([]string{
			"spec.a: no description", "spec.b: default x not mentioned in its description",
			"spec.c: no example in its description", "spec.c[].e: no description"}))
	})
})
