package cftokencli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// pollInterval is how often rotate --wait reads the CloudflareToken (a get needs fewer rights than a watch).
const pollInterval = 500 * time.Millisecond

func newRotateCommand(g *globals) *cobra.Command {
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rotate NAME",
		Short: "Rotate a CloudflareToken now; with --wait, until the Secret holds the new token",
		Long: `Sets the annotation ` + cfv1.AnnotationRotate + ` of the CloudflareToken to a fresh value: the operator
mints a new token, writes it into the Secret and revokes the old one after spec.rotationGracePeriod.

With --wait, returns once status.lastRotateRequest shows the request handled and the Secret holds the new
token, and prints both token ids (never a value). Exit code 1 when --timeout passes first, with the
operator's last word on why.`,
		Example: `  kubectl cftoken rotate -n cert-manager dns01 --wait
  kubectl cftoken rotate -n cert-manager dns01 --wait --timeout 5m -o json`,
		Args: oneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout <= 0 {
				return usagef("--timeout must be greater than 0, not %s", timeout)
			}
			s, err := g.kube.connect()
			if err != nil {
				return err
			}
			return g.rotate(cmd.Context(), s, args[0], wait, timeout)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "Wait until the Secret holds the new token")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "How long --wait waits")
	return cmd
}

// rotation is what rotate reports.
type rotation struct {
	Namespace     string `json:"namespace"`
	Name          string `json:"name"`
	RotateRequest string `json:"rotateRequest"`
	// Done is true once the operator handled the request and the Secret holds the new token.
	Done            bool         `json:"done"`
	PreviousTokenID string       `json:"previousTokenID,omitempty"`
	TokenID         string       `json:"tokenID,omitempty"`
	Secret          string       `json:"secret,omitempty"`
	SecretTokenID   string       `json:"secretTokenID,omitempty"`
	PreviousRevoke  *metav1.Time `json:"previousRevokeAt,omitempty"`
	Waited          string       `json:"waited,omitempty"`
	// Note says the Secret could not be read with your RBAC: the status alone says the new token is in place.
	Note string `json:"note,omitempty"`
	// Problem says why the wait ended without the new token: timeout, superseded, the Ready condition.
	Problem string `json:"problem,omitempty"`
}

func (g *globals) rotate(ctx context.Context, s *session, name string, wait bool, timeout time.Duration) error {
	t, err := s.getToken(ctx, s.namespace, name)
	if err != nil {
		return err
	}
	r := rotation{Namespace: t.Namespace, Name: t.Name, PreviousTokenID: t.Status.TokenID,
		RotateRequest: time.Now().UTC().Format(time.RFC3339Nano)}
	if err := s.requestRotation(ctx, t, r.RotateRequest); err != nil {
		return err
	}
	if !wait {
		return g.emit(r, func(w io.Writer) {
			fmt.Fprintf(w, "Rotation of %s/%s requested (%s=%s); the current token is %s.\n",
				r.Namespace, r.Name, cfv1.AnnotationRotate, r.RotateRequest, orDash(r.PreviousTokenID))
		})
	}
	start := time.Now()
	waitErr := s.waitRotated(ctx, &r, timeout)
	r.Waited = time.Since(start).Round(100 * time.Millisecond).String()
	if waitErr != nil {
		r.Problem = waitErr.Error()
	}
	if err := g.emit(r, func(w io.Writer) { printRotation(w, &r) }); err != nil {
		return err
	}
	if waitErr != nil {
		return errNotHealthy
	}
	return nil
}

// requestRotation sets the rotate annotation with a merge patch: no read-modify-write race with the
// operator or anyone else, and only the patch right on the CloudflareToken is needed.
func (s *session) requestRotation(ctx context.Context, t *tokenObject, value string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{cfv1.AnnotationRotate: value}}})
	if err != nil {
		return err
	}
	if err := s.kube.Patch(ctx, t.CloudflareToken, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		return fmt.Errorf("setting %s on CloudflareToken %s/%s: %w", cfv1.AnnotationRotate, t.Namespace, t.Name, err)
	}
	return nil
}

var errSuperseded = errors.New("another rotate request replaced this one")

// waitRotated polls until the request is handled and the Secret holds the new token, filling r in. Each
// read runs on ctx, not on the deadline: a read cut short by the deadline would be reported as an error.
func (s *session) waitRotated(ctx context.Context, r *rotation, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last *tokenObject
	for {
		t, err := s.getToken(ctx, r.Namespace, r.Name)
		if err != nil {
			return err
		}
		last = t
		if done, err := s.rotated(ctx, t, r); done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return timedOut(timeout, r, last)
		case <-tick.C:
		}
	}
}

// rotated is true once t shows r's request handled and the Secret holds the token the status names.
func (s *session) rotated(ctx context.Context, t *tokenObject, r *rotation) (bool, error) {
	st := &t.Status
	if v := t.Annotations[cfv1.AnnotationRotate]; v != r.RotateRequest {
		return false, fmt.Errorf("%w (%s=%s)", errSuperseded, cfv1.AnnotationRotate, v)
	}
	if st.LastRotateRequest != r.RotateRequest || st.TokenID == "" || st.TokenID == r.PreviousTokenID {
		return false, nil
	}
	r.TokenID, r.Secret = st.TokenID, secretNameOf(t)
	id, err := s.secretTokenID(ctx, t.Namespace, r.Secret)
	switch {
	case apierrors.IsForbidden(err):
		// The operator writes the Secret before it records the token in the status.
		r.Note = "the Secret is not readable with your RBAC: the status alone says it holds the new token"
	case err != nil:
		return false, err
	case id != st.TokenID:
		r.SecretTokenID = id
		return false, nil
	default:
		r.SecretTokenID = id
	}
	for _, rt := range st.RetiringTokens {
		if rt.ID == r.PreviousTokenID {
			r.PreviousRevoke = rt.RevokeAt.DeepCopy()
		}
	}
	r.Done = true
	return true, nil
}

// timedOut says what the operator last reported, so that the person waiting learns why.
func timedOut(timeout time.Duration, r *rotation, last *tokenObject) error {
	st := &last.Status
	msg := fmt.Sprintf("timed out after %s", timeout)
	msg += fmt.Sprintf(": status.lastRotateRequest is %q", st.LastRotateRequest)
	if st.LastRotateRequest == r.RotateRequest && r.SecretTokenID != st.TokenID {
		msg += fmt.Sprintf(", the Secret still holds token %s, not %s", orDash(r.SecretTokenID), st.TokenID)
	}
	ready := readyOf(st.Conditions)
	msg += fmt.Sprintf("; Ready=%s (%s): %s", ready.Status, ready.Reason, ready.Message)
	if st.LastFailureTime != nil {
		msg += fmt.Sprintf(" [%s, the last at %s]", attempts(st.FailedAttempts), st.LastFailureTime.UTC().Format(time.RFC3339))
	}
	return errors.New(msg)
}

func printRotation(w io.Writer, r *rotation) {
	if !r.Done {
		fmt.Fprintf(w, "Rotation of %s/%s (%s=%s) not done: %s\n", r.Namespace, r.Name, cfv1.AnnotationRotate,
			r.RotateRequest, r.Problem)
		return
	}
	fmt.Fprintf(w, "Rotated %s/%s in %s: token %s replaced by %s; Secret %s holds %s.\n",
		r.Namespace, r.Name, r.Waited, orDash(r.PreviousTokenID), r.TokenID, r.Secret, orDash(r.SecretTokenID))
	if r.Note != "" {
		fmt.Fprintf(w, "Note: %s.\n", r.Note)
	}
	if r.PreviousRevoke != nil {
		fmt.Fprintf(w, "Token %s is revoked at %s.\n", r.PreviousTokenID, r.PreviousRevoke.UTC().Format(time.RFC3339))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
