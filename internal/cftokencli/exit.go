package cftokencli

import (
	"errors"
	"fmt"
)

// Exit codes a script can rely on.
const (
	// ExitHealthy: the command did what was asked and what it looked at is healthy.
	ExitHealthy = 0
	// ExitUnhealthy: what it looked at is not healthy, a wait timed out, or the cluster or Cloudflare
	// answered with an error (forbidden, not found, unreachable).
	ExitUnhealthy = 1
	// ExitUsage: the command line is wrong; nothing was asked of the cluster.
	ExitUsage = 2
)

// usageError is a mistake on the command line.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// errNotHealthy says that the command printed its report and what it reported on is not healthy; the
// report already says why, so nothing more is printed.
var errNotHealthy = errors.New("not healthy")

// exitCode maps a command's outcome to its exit code.
func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return ExitHealthy
	case errors.As(err, &u):
		return ExitUsage
	default:
		return ExitUnhealthy
	}
}
