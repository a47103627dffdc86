package metricsauth

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
)

// The lifetimes controller-runtime's filter (and the API server's delegating authenticator) use: a revoked
// ServiceAccount token keeps reading metrics for at most a minute, a removed binding for five.
const (
	authnTTL      = time.Minute
	allowTTL      = 5 * time.Minute
	denyTTL       = 30 * time.Second
	reviewTimeout = 10 * time.Second
	// maxCached bounds each cache: tokens and paths come from whoever can reach the port.
	maxCached = 1024
)

type userInfo = authenticationv1.UserInfo

// identity is a TokenReview's answer.
type identity struct {
	authenticated bool
	user          userInfo
}

// decision is a SubjectAccessReview's answer.
type decision struct {
	allowed bool
	reason  string
}

// reviewer asks the API server; the guard caches its answers.
type reviewer interface {
	authenticate(ctx context.Context, token string) (identity, error)
	authorize(ctx context.Context, user userInfo, verb, path string) (decision, error)
}

type apiReviewer struct {
	tokens authenticationv1client.TokenReviewInterface
	access authorizationv1client.SubjectAccessReviewInterface
}

func (a apiReviewer) authenticate(ctx context.Context, token string) (identity, error) {
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	review, err := a.tokens.Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token},
	}, metav1.CreateOptions{})
	if err != nil {
		// The API server's error never quotes the token it was sent.
		return identity{}, fmt.Errorf("creating a TokenReview: %w", err)
	}
	return identity{authenticated: review.Status.Authenticated, user: review.Status.User}, nil
}

func (a apiReviewer) authorize(ctx context.Context, user userInfo, verb, path string) (decision, error) {
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	extra := make(map[string]authorizationv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	review, err := a.access.Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("creating a SubjectAccessReview for %s %s: %w", verb, path, err)
	}
	return decision{allowed: review.Status.Allowed && !review.Status.Denied, reason: review.Status.Reason}, nil
}
