package localcluster

import (
	"context"
	"errors"
	"fmt"
	"time"
)

type permanentError struct{ error }

func (p permanentError) Unwrap() error { return p.error }

// Permanent marks an error that ends Eventually at once (the process died: waiting longer cannot help).
func Permanent(err error) error { return permanentError{err} }

// Eventually polls cond every interval until it reports true, returns a Permanent error, ctx ends or timeout
// passes; the error then says what cond last reported. cond's error is only reported, not fatal.
func Eventually(ctx context.Context, timeout, interval time.Duration, cond func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		var perm permanentError
		if errors.As(err, &perm) {
			return perm.error
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("not within %s: %w", timeout, last)
			}
			return fmt.Errorf("not within %s", timeout)
		case <-time.After(interval):
		}
	}
}
