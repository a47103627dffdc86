package cftokencli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"
)

// Output formats of -o.
const (
	outputTable = "table"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

func checkOutput(o string) error {
	switch o {
	case outputTable, outputJSON, outputYAML:
		return nil
	}
	return usagef("--output (-o) must be table, json or yaml, not %q", o)
}

// emit prints a report: as JSON or YAML for -o json|yaml, else through table.
func (g *globals) emit(report any, table func(w io.Writer)) error {
	switch g.output {
	case outputJSON:
		b, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding JSON: %w", err)
		}
		_, err = fmt.Fprintf(g.stdout, "%s\n", b)
		return err
	case outputYAML:
		b, err := yaml.Marshal(report)
		if err != nil {
			return fmt.Errorf("encoding YAML: %w", err)
		}
		_, err = g.stdout.Write(b)
		return err
	}
	table(g.stdout)
	return nil
}

// indentPrefix sets the tables of a story off from its fields.
const indentPrefix = "  "

// columns writes aligned rows, as kubectl get does, each line starting with prefix.
type columns struct {
	tw     *tabwriter.Writer
	prefix string
}

func newColumns(w io.Writer, prefix string, header ...string) *columns {
	c := &columns{tw: tabwriter.NewWriter(w, 0, 0, 3, ' ', 0), prefix: prefix}
	c.row(header...)
	return c
}

func (c *columns) row(cells ...string) {
	for i, s := range cells {
		if s == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(c.tw, c.prefix+strings.Join(cells, "\t"))
}

func (c *columns) flush() { _ = c.tw.Flush() }

// field writes one "Label:  value" line of a story, aligned on a fixed column.
func field(w io.Writer, label, value string) {
	if value == "" {
		value = "-"
	}
	fmt.Fprintf(w, "%-22s%s\n", label+":", value)
}

// listOf shows at most n items and how many more there are.
func listOf(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ",")
	}
	return fmt.Sprintf("%s,+%d", strings.Join(items[:n], ","), len(items)-n)
}
