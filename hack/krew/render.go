package main

import (
	"bytes"
	"fmt"
	"regexp"
	"text/template"
)

// assetFunc provides the release asset a manifest URI names and returns its sha256 (hex).
type assetFunc func(uri string) (sha256 string, err error)

// render fills in .krew.yaml for tag as krew-release-bot does: {{ .TagName }}, and addURIAndSha, whose URI
// is itself a template of TagName and Version and which writes "uri: ...\n    sha256: ...".
func render(tmpl []byte, tag string, asset assetFunc) ([]byte, error) {
	values := struct{ TagName, Version string }{TagName: tag, Version: versionOf(tag)}
	var assetErr error
	t, err := template.New(".krew.yaml").Funcs(template.FuncMap{
		"addURIAndSha": func(uriTemplate, _ string) string {
			var uri bytes.Buffer
			ut, err := template.New("uri").Parse(uriTemplate)
			if err == nil {
				err = ut.Execute(&uri, values)
			}
			var sum string
			if err == nil {
				sum, err = asset(uri.String())
			}
			if err != nil {
				assetErr = fmt.Errorf("asset %s: %w", uri.String(), err)
				return ""
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri.String(), sum)
		},
	}).Parse(string(tmpl))
	if err != nil {
		return nil, fmt.Errorf("parsing the template: %w", err)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, values); err != nil {
		return nil, fmt.Errorf("rendering the template: %w", err)
	}
	if assetErr != nil {
		return nil, assetErr
	}
	return out.Bytes(), nil
}

var semver = regexp.MustCompile(`\d+(\.\d+)+`)

// versionOf is the tag's version without its prefix ("v0.1.0" -> "0.1.0"), as krew-release-bot reads it.
func versionOf(tag string) string {
	if v := semver.FindString(tag); v != "" {
		return v
	}
	return tag
}
