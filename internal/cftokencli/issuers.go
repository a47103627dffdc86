package cftokencli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

func newIssuersCommand(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "issuers",
		Short: "Show the issuers: Ready, tokens held against the quota, credential expiry, bounds",
		Long: `Lists every ClusterTokenIssuer and the TokenIssuers of the namespace (-n), or of all namespaces (-A).
Kinds you may not list are skipped with a note.

Exit code 0 when every issuer shown is Ready, 1 when one is not.`,
		Example: `  kubectl cftoken issuers -A
  kubectl cftoken issuers -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := g.kube.connect()
			if err != nil {
				return err
			}
			return g.issuers(cmd.Context(), s, s.listScope(all))
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "List the TokenIssuers of every namespace")
	return cmd
}

type issuerList struct {
	Items []issuerRow `json:"items"`
}

func (g *globals) issuers(ctx context.Context, s *session, ns string) error {
	list := issuerList{Items: []issuerRow{}}
	var failures []error
	for _, kind := range []string{cfv1.KindClusterTokenIssuer, cfv1.KindTokenIssuer} {
		items, err := s.listIssuers(ctx, kind, ns)
		if err != nil {
			failures = append(failures, err)
			continue
		}
		for _, i := range items {
			list.Items = append(list.Items, issuerRowOf(i))
		}
	}
	if len(failures) == 2 {
		return errors.Join(failures...)
	}
	for _, err := range failures {
		if !apierrors.IsForbidden(err) {
			return err
		}
		fmt.Fprintf(g.stderr, "note: %v\n", err)
	}
	now := time.Now()
	if err := g.emit(list, func(w io.Writer) { printIssuerTable(w, list.Items, now) }); err != nil {
		return err
	}
	if len(list.Items) == 0 {
		fmt.Fprintf(g.stderr, "No issuers found.\n")
	}
	for _, r := range list.Items {
		if r.Ready != metav1.ConditionTrue {
			return errNotHealthy
		}
	}
	return nil
}

func printIssuerTable(w io.Writer, rows []issuerRow, now time.Time) {
	if len(rows) == 0 {
		return
	}
	c := newColumns(w, "", "KIND", "NAMESPACE", "NAME", "READY", "REASON", "OWNER", "TOKENS", "CREDENTIAL EXPIRES", "BOUNDS")
	for _, r := range rows {
		c.row(r.Kind, r.Namespace, r.Name, string(r.Ready), r.Reason, r.TokenOwner, r.tokens(), r.credentialExpiry(now), r.bounds())
	}
	c.flush()
}
