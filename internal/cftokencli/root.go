// Package cftokencli is `kubectl cftoken`, the command line of the cloudflare-token-operator: status of
// CloudflareTokens and issuers, rotation on demand, and a check of the value a Secret holds against
// Cloudflare's verify endpoint. It acts with the user's kubeconfig and RBAC, never the operator's.
package cftokencli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// globals are the flags every subcommand takes.
type globals struct {
	kube   kubeFlags
	output string
	stdout io.Writer
	stderr io.Writer
}

// Main runs the command line and returns the process's exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	// controller-runtime's client logs through its own logger; the plugin prints what matters itself.
	ctrllog.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	g := &globals{stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var u usageError
	switch {
	case err == nil, errors.Is(err, errNotHealthy):
	case errors.As(err, &u):
		fmt.Fprintf(stderr, "error: %v\nSee 'kubectl cftoken --help'.\n", err)
	default:
		fmt.Fprintf(stderr, "error: %v\n", err)
	}
	return exitCode(err)
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl-cftoken",
		Short: "Inspect, rotate and check the Cloudflare API tokens of cloudflare-token-operator",
		Long: `kubectl cftoken inspects CloudflareTokens and their issuers, rotates a token on demand and checks the
value a Secret holds against Cloudflare, with your kubeconfig and your RBAC.

Exit codes: 0 healthy, 1 not healthy (or an error), 2 usage.`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl cftoken"},
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			return usagef("name a subcommand: status, rotate, check or issuers")
		},
		PersistentPreRunE: func(*cobra.Command, []string) error { return checkOutput(g.output) },
	}
	// kubectl completes plugins through kubectl_complete-<name> scripts, not this command's own.
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	g.kube.bind(root.PersistentFlags())
	root.PersistentFlags().StringVarP(&g.output, "output", "o", outputTable, "Output format: table, json or yaml")
	root.AddCommand(newStatusCommand(g), newRotateCommand(g), newCheckCommand(g), newIssuersCommand(g))
	return root
}

// oneName requires exactly the NAME of a CloudflareToken.
func oneName(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usagef("%s takes the NAME of one CloudflareToken, got %d arguments", cmd.Name(), len(args))
	}
	return nil
}

// usageArgs turns an argument validator's complaint into a usage error.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
