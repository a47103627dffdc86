package cftokencli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func newStatusCommand(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "status [NAME]",
		Short: "Show whether CloudflareTokens are Ready, when they expire and renew, and why they last failed",
		Long: `Without NAME: a table of the CloudflareTokens of the namespace (-n), or of all namespaces (-A).
With NAME: the story of one CloudflareToken: conditions, its issuer's state, retiring tokens and when they
are revoked, and recent events.

Exit code 0 when every token shown is Ready, 1 when one is not.`,
		Example: `  kubectl cftoken status -A
  kubectl cftoken status -n cert-manager dns01
  kubectl cftoken status -n cert-manager dns01 -o yaml`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && all {
				return usagef("status takes either a NAME or --all-namespaces (-A), not both")
			}
			s, err := g.kube.connect()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				return g.statusOne(cmd.Context(), s, s.namespace, args[0])
			}
			return g.statusList(cmd.Context(), s, s.listScope(all))
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "List the CloudflareTokens of every namespace")
	return cmd
}

// tokenRow is one line of the status table.
type tokenRow struct {
	Namespace       string                 `json:"namespace"`
	Name            string                 `json:"name"`
	Ready           metav1.ConditionStatus `json:"ready"`
	Reason          string                 `json:"reason,omitempty"`
	Message         string                 `json:"message,omitempty"`
	Issuer          string                 `json:"issuer"`
	TokenID         string                 `json:"tokenID,omitempty"`
	ExpiresAt       *metav1.Time           `json:"expiresAt,omitempty"`
	RenewalTime     *metav1.Time           `json:"renewalTime,omitempty"`
	RetiringTokens  int                    `json:"retiringTokens"`
	LastFailureTime *metav1.Time           `json:"lastFailureTime,omitempty"`
	FailedAttempts  int32                  `json:"failedAttempts,omitempty"`
}

func rowOf(t *tokenObject) tokenRow {
	st := &t.Status
	ready := readyOf(st.Conditions)
	return tokenRow{
		Namespace: t.Namespace, Name: t.Name, Ready: ready.Status, Reason: ready.Reason, Message: ready.Message,
		Issuer:  t.Spec.IssuerRef.Kind + "/" + t.Spec.IssuerRef.Name,
		TokenID: st.TokenID, ExpiresAt: st.ExpiresAt, RenewalTime: st.RenewalTime,
		RetiringTokens: len(st.RetiringTokens), LastFailureTime: st.LastFailureTime, FailedAttempts: st.FailedAttempts,
	}
}

// lastFailure is "Reason 3m ago (2 attempts)", or "" when the last pass succeeded.
func (r tokenRow) lastFailure(now time.Time) string {
	if r.LastFailureTime == nil {
		return ""
	}
	return fmt.Sprintf("%s %s (%s)", r.Reason, relative(r.LastFailureTime, now), attempts(r.FailedAttempts))
}

// attempts is "1 failed attempt", "3 failed attempts".
func attempts(n int32) string {
	if n == 1 {
		return "1 failed attempt"
	}
	return fmt.Sprintf("%d failed attempts", n)
}

type tokenList struct {
	Items []tokenRow `json:"items"`
}

func (g *globals) statusList(ctx context.Context, s *session, ns string) error {
	tokens, err := s.listTokens(ctx, ns)
	if err != nil {
		return err
	}
	now := time.Now()
	list := tokenList{Items: make([]tokenRow, 0, len(tokens))}
	healthy := true
	for _, t := range tokens {
		r := rowOf(t)
		healthy = healthy && r.Ready == metav1.ConditionTrue
		list.Items = append(list.Items, r)
	}
	if err := g.emit(list, func(w io.Writer) { printTokenTable(w, list.Items, ns == "", now) }); err != nil {
		return err
	}
	if len(tokens) == 0 {
		fmt.Fprintf(g.stderr, "No CloudflareTokens found%s.\n", inNamespace(ns))
	}
	if !healthy {
		return errNotHealthy
	}
	return nil
}

func printTokenTable(w io.Writer, rows []tokenRow, withNamespace bool, now time.Time) {
	if len(rows) == 0 {
		return
	}
	header := []string{"NAME", "READY", "REASON", "ISSUER", "TOKEN ID", "EXPIRES", "RENEWS", "RETIRING", "LAST FAILURE"}
	if withNamespace {
		header = append([]string{"NAMESPACE"}, header...)
	}
	c := newColumns(w, "", header...)
	for _, r := range rows {
		cells := []string{r.Name, string(r.Ready), r.Reason, r.Issuer, r.TokenID, relative(r.ExpiresAt, now),
			relative(r.RenewalTime, now), fmt.Sprint(r.RetiringTokens), r.lastFailure(now)}
		if withNamespace {
			cells = append([]string{r.Namespace}, cells...)
		}
		c.row(cells...)
	}
	c.flush()
}
