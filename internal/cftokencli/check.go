package cftokencli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// verifyTimeout bounds the one request check makes to Cloudflare.
const verifyTimeout = 30 * time.Second

func newCheckCommand(g *globals) *cobra.Command {
	apiURL := cloudflare.DefaultBaseURL
	cmd := &cobra.Command{
		Use:   "check NAME",
		Short: "Ask Cloudflare whether the token in a CloudflareToken's Secret works",
		Long: `Reads the CloudflareToken's Secret (with your RBAC: get on secrets) and asks Cloudflare's verify endpoint
about the value it holds: active, expired, disabled or unknown (Cloudflare does not accept it), the token id,
its expiry, and whether it is the token status.tokenID names. The value is never printed, logged or
written anywhere; it is sent only to --api-url, and only from a Secret this CloudflareToken controls.

Exit code 0 when the Secret holds an active token that is status.tokenID, 1 otherwise.`,
		Example: `  kubectl cftoken check -n cert-manager dns01
  kubectl cftoken check -n cert-manager dns01 -o json`,
		Args: oneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !strings.HasPrefix(apiURL, "https://") && !strings.HasPrefix(apiURL, "http://") {
				return usagef("--api-url must be an http(s) URL, not %q", apiURL)
			}
			s, err := g.kube.connect()
			if err != nil {
				return err
			}
			return g.check(cmd.Context(), s, args[0], apiURL)
		},
	}
	cmd.Flags().StringVar(&apiURL, "api-url", apiURL, "Cloudflare's API base URL (ending in /client/v4)")
	return cmd
}

// checkReport is what check tells; it never holds the value.
type checkReport struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Secret    string `json:"secret"`
	SecretKey string `json:"secretKey"`
	// State: active, expired, disabled (or another status Cloudflare reports), unknown, ip-restricted, missing.
	State         string       `json:"state"`
	TokenID       string       `json:"tokenID,omitempty"`
	ExpiresAt     *metav1.Time `json:"expiresAt,omitempty"`
	StatusTokenID string       `json:"statusTokenID,omitempty"`
	MatchesStatus bool         `json:"matchesStatus"`
	// SecretAnnotationTokenID is the Secret's cloudflare.tokenoperator.dev/token-id annotation.
	SecretAnnotationTokenID string   `json:"secretAnnotationTokenID,omitempty"`
	Healthy                 bool     `json:"healthy"`
	Problems                []string `json:"problems,omitempty"`
}

func (g *globals) check(ctx context.Context, s *session, name, apiURL string) error {
	t, err := s.getToken(ctx, s.namespace, name)
	if err != nil {
		return err
	}
	r := checkReport{Namespace: t.Namespace, Name: t.Name, Secret: secretNameOf(t), SecretKey: t.Spec.Secret.TokenKey(),
		StatusTokenID: t.Status.TokenID}
	value, err := s.readValue(ctx, t, &r)
	if err != nil {
		return err
	}
	if !value.IsZero() {
		cfg, err := s.verifyConfig(ctx, t, value, apiURL)
		if err != nil {
			return err
		}
		v, err := verify(ctx, cfg)
		if err != nil {
			return err
		}
		r.State, r.TokenID, r.ExpiresAt = v.State, v.TokenID, v.ExpiresAt
		if v.Detail != "" {
			r.Problems = append(r.Problems, v.Detail)
		}
	}
	r.judge()
	if err := g.emit(r, func(w io.Writer) { printCheck(w, &r) }); err != nil {
		return err
	}
	if !r.Healthy {
		return errNotHealthy
	}
	return nil
}

// readValue reads the value from the Secret, refusing a Secret that this CloudflareToken does not control:
// its value is not this token's to send anywhere. A missing Secret or key is a state, not an error.
func (s *session) readValue(ctx context.Context, t *tokenObject, r *checkReport) (cloudflare.Secret, error) {
	sec := &corev1.Secret{}
	err := s.kube.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: r.Secret}, sec)
	if apierrors.IsNotFound(err) {
		r.State = stateMissing
		r.Problems = append(r.Problems, fmt.Sprintf("Secret %s/%s does not exist", t.Namespace, r.Secret))
		return cloudflare.Secret{}, nil
	}
	if err != nil {
		return cloudflare.Secret{}, fmt.Errorf("reading Secret %s/%s (check needs get on secrets): %w", t.Namespace, r.Secret, err)
	}
	// Only the value leaves this function, wrapped; the rest of the Secret's data is dropped at once.
	raw, ok := sec.Data[r.SecretKey]
	sec.Data = nil
	if ref := metav1.GetControllerOf(sec); ref == nil || ref.UID != t.UID {
		clear(raw)
		return cloudflare.Secret{}, fmt.Errorf("secret %s/%s is not controlled by CloudflareToken %s/%s: "+
			"its value is not this token's and is not sent anywhere", t.Namespace, r.Secret, t.Namespace, t.Name)
	}
	r.SecretAnnotationTokenID = sec.Annotations[cfv1.AnnotationTokenID]
	if !ok || len(raw) == 0 {
		r.State = stateMissing
		r.Problems = append(r.Problems, fmt.Sprintf("Secret %s/%s has no key %s", t.Namespace, r.Secret, r.SecretKey))
		return cloudflare.Secret{}, nil
	}
	value := string(raw)
	clear(raw)
	if strings.TrimSpace(value) != value {
		// The verify call below trims it; consumers such as cert-manager send it as it is and fail.
		r.Problems = append(r.Problems, "the value has leading or trailing whitespace (a hand edit?): "+
			"consumers such as cert-manager send it as it is, and Cloudflare refuses it")
	}
	return cloudflare.NewSecret(value), nil
}

// verifyConfig is the client configuration for the value: who owns the token decides which verify endpoint
// knows it (account-owned tokens verify only on their account's path). The status records who minted the
// current token; before it does, the issuer says.
func (s *session) verifyConfig(ctx context.Context, t *tokenObject, value cloudflare.Secret, apiURL string) (cloudflare.Config, error) {
	cfg := cloudflare.Config{BaseURL: apiURL, Credential: cloudflare.Credential{APIToken: value}, Owner: cloudflare.OwnerUser}
	owner, account := cfv1.TokenOwnerUser, ""
	if m := t.Status.MintedBy; m != nil {
		owner, account = m.Owner, m.AccountID
	} else if iss, err := s.getIssuer(ctx, t.Spec.IssuerRef.Kind, t.Namespace, t.Spec.IssuerRef.Name); err == nil {
		owner, account = iss.Spec.TokenOwner, iss.Spec.AccountID
	} else if strings.HasPrefix(value.Reveal(), "cfat_") {
		return cfg, fmt.Errorf("the token is account-owned and its account id is on the issuer: %w", err)
	}
	if owner == cfv1.TokenOwnerAccount {
		cfg.Owner, cfg.AccountID = cloudflare.OwnerAccount, account
	}
	return cfg, nil
}

// verify asks Cloudflare once, on a client of its own: no cache, no retries, nothing kept.
func verify(ctx context.Context, cfg cloudflare.Config) (verdict, error) {
	f := cloudflare.NewFactory(cloudflare.FactoryOptions{RequestTimeout: verifyTimeout,
		HTTPClient: &http.Client{Transport: http.DefaultTransport}})
	cl, err := f.ClientFor(cfg)
	if err != nil {
		return verdict{}, err
	}
	return judge(cl.Verify(ctx))
}

// judge decides health: an active token, the one the status names, and nothing else wrong.
func (r *checkReport) judge() {
	r.MatchesStatus = r.TokenID != "" && r.TokenID == r.StatusTokenID
	if r.State == stateActive && !r.MatchesStatus {
		r.Problems = append(r.Problems, fmt.Sprintf("the Secret holds token %s, but status.tokenID is %s",
			r.TokenID, orDash(r.StatusTokenID)))
	}
	r.Healthy = r.State == stateActive && len(r.Problems) == 0
}

func printCheck(w io.Writer, r *checkReport) {
	now := time.Now()
	field(w, "CloudflareToken", r.Namespace+"/"+r.Name)
	field(w, "Secret", fmt.Sprintf("%s (key %s)", r.Secret, r.SecretKey))
	field(w, "State", r.State)
	match := "does not match"
	if r.MatchesStatus {
		match = "matches"
	}
	field(w, "Token ID", fmt.Sprintf("%s (%s status.tokenID %s)", orDash(r.TokenID), match, orDash(r.StatusTokenID)))
	field(w, "Expires", stamp(r.ExpiresAt, now))
	verdictLine := "healthy"
	if !r.Healthy {
		verdictLine = "NOT healthy"
	}
	field(w, "Verdict", verdictLine)
	for _, p := range r.Problems {
		fmt.Fprintln(w, "  - "+p)
	}
}
