// Package metricsauth guards the metrics endpoint the way the API server guards its own: the bearer token
// is authenticated with a TokenReview and the request authorised with a SubjectAccessReview for its path and
// verb, so a Prometheus needs only a ServiceAccount bound to the metrics-reader ClusterRole.
//
// It replaces controller-runtime's filters.WithAuthenticationAndAuthorization with the same answers (401
// without a valid token, 403 without the right, 500 when the API server cannot be asked) and the same cache
// lifetimes. That filter links k8s.io/apiserver, whose packages alone kept ~16 MiB of the manager's binary
// resident (BENCHMARKS.md, "Manager peak RSS"); this one needs only the two typed clients.
package metricsauth

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-logr/logr"
	authenticationv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// FilterProvider is a metricsserver.Options.FilterProvider.
func FilterProvider(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, err := authenticationv1client.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("building the TokenReview client: %w", err)
	}
	authz, err := authorizationv1client.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("building the SubjectAccessReview client: %w", err)
	}
	g := newGuard(apiReviewer{tokens: authn.TokenReviews(), access: authz.SubjectAccessReviews()}, clock.RealClock{})
	return g.filter, nil
}

// guard answers "who is this and may they do that", caching both answers.
type guard struct {
	reviews   reviewer
	clock     clock.PassiveClock
	users     *ttlCache[identity]
	decisions *ttlCache[decision]
}

func newGuard(r reviewer, c clock.PassiveClock) *guard {
	return &guard{reviews: r, clock: c, users: newTTLCache[identity](maxCached), decisions: newTTLCache[decision](maxCached)}
}

func (g *guard) filter(log logr.Logger, next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		token, ok := bearerToken(req.Header.Get("Authorization"))
		if !ok {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		who, err := g.authenticate(req.Context(), token)
		if err != nil {
			log.Error(err, "Authenticating a metrics request")
			http.Error(w, "Authentication failed", http.StatusInternalServerError)
			return
		}
		if !who.authenticated {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		verb, path := strings.ToLower(req.Method), req.URL.Path
		d, err := g.authorize(req.Context(), who.user, verb, path)
		if err != nil {
			log.Error(err, "Authorizing a metrics request", "user", who.user.Username)
			http.Error(w, "Authorization for user "+who.user.Username+" failed", http.StatusInternalServerError)
			return
		}
		if !d.allowed {
			log.V(1).Info("Metrics request denied", "user", who.user.Username, "verb", verb, "path", path, "reason", d.reason)
			http.Error(w, "Authorization denied for user "+who.user.Username, http.StatusForbidden)
			return
		}
		// The handler behind has no use for the credential: do not hand it on.
		req.Header.Del("Authorization")
		next.ServeHTTP(w, req)
	}), nil
}

func (g *guard) authenticate(ctx context.Context, token string) (identity, error) {
	key := tokenKey(token)
	if who, ok := g.users.get(key, g.clock.Now()); ok {
		return who, nil
	}
	who, err := g.reviews.authenticate(ctx, token)
	if err != nil {
		return identity{}, err
	}
	g.users.put(key, who, g.clock.Now(), authnTTL)
	return who, nil
}

func (g *guard) authorize(ctx context.Context, user userInfo, verb, path string) (decision, error) {
	key := decisionKey(user, verb, path)
	if d, ok := g.decisions.get(key, g.clock.Now()); ok {
		return d, nil
	}
	d, err := g.reviews.authorize(ctx, user, verb, path)
	if err != nil {
		return decision{}, err
	}
	ttl := denyTTL
	if d.allowed {
		ttl = allowTTL
	}
	g.decisions.put(key, d, g.clock.Now(), ttl)
	return d, nil
}

// bearerToken reads "Authorization: Bearer <token>" as the API server does (scheme in any case).
func bearerToken(header string) (string, bool) {
	parts := strings.Fields(header)
	if len(parts) != 2 || !strings.EqualFold(parts[0], "bearer") {
		return "", false
	}
	return parts[1], true
}
