package cloudflare

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	sdkaccounts "github.com/cloudflare/cloudflare-go/v7/accounts"
	"github.com/cloudflare/cloudflare-go/v7/option"
	sdkuser "github.com/cloudflare/cloudflare-go/v7/user"
	sdkzones "github.com/cloudflare/cloudflare-go/v7/zones"
	"k8s.io/utils/clock"
)

// sdkClient implements Client on the official SDK.
//
// It builds the SDK's services (user, accounts, zones) directly instead of calling cloudflare.NewClient:
// NewClient prepends DefaultClientOptions, which read CLOUDFLARE_API_TOKEN, CLOUDFLARE_API_KEY,
// CLOUDFLARE_EMAIL, CLOUDFLARE_BASE_URL, CLOUDFLARE_API_USER_SERVICE_KEY and CLOUDFLARE_CUSTOM_HEADERS from
// the environment. Our options would override the token and base URL, but an X-Auth-Key, a user-service key
// or custom headers from the environment would still ride along on every request. The services see only the
// options given here, so the issuer's configuration is the whole truth. (It also spares compiling and linking
// the SDK's ~150 other service packages.)
type sdkClient struct {
	cfg     Config
	hash    string
	budget  *Budget
	metrics Metrics
	clock   clock.PassiveClock
	ttl     time.Duration
	// redact lists the credential values, scrubbed from every error message.
	redact []string

	users    *sdkuser.UserService
	accounts *sdkaccounts.AccountService
	zones    *sdkzones.ZoneService

	cache  *lookupCache
	errLog *errorLog
}

func newSDKClient(cfg Config, hash string, b *Budget, fo FactoryOptions, errLog *errorLog) *sdkClient {
	c := &sdkClient{
		cfg: cfg, hash: hash, budget: b, metrics: fo.Metrics, clock: fo.Clock, ttl: fo.CacheTTL,
		redact: []string{cfg.Credential.APIToken.Reveal(), cfg.Credential.APIKey.Reveal()},
		cache:  newLookupCache(), errLog: errLog,
	}
	opts := []option.RequestOption{
		option.WithBaseURL(cfg.BaseURL),
		option.WithHTTPClient(fo.HTTPClient),
		// The controllers own retries (workqueue backoff, Retry-After honoured through RateLimited errors);
		// SDK retries would multiply requests against the budget and hide 429s from it.
		option.WithMaxRetries(0),
		option.WithRequestTimeout(fo.RequestTimeout),
		option.WithMiddleware(c.middleware),
	}
	if !cfg.Credential.APIToken.IsZero() {
		opts = append(opts, option.WithAPIToken(cfg.Credential.APIToken.Reveal()))
	} else {
		opts = append(opts, option.WithAPIKey(cfg.Credential.APIKey.Reveal()), option.WithAPIEmail(cfg.Credential.Email))
	}
	c.users = sdkuser.NewUserService(opts...)
	c.accounts = sdkaccounts.NewAccountService(opts...)
	c.zones = sdkzones.NewZoneService(opts...)
	return c
}

// middleware runs around every HTTP request the SDK makes, pages included: it takes a budget slot, reports
// metrics, and turns a 429 into a block of the whole credential.
func (c *sdkClient) middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	if err := c.budget.Acquire(req.Context()); err != nil {
		c.reportBudget()
		return nil, err
	}
	start := c.clock.Now()
	res, err := next(req)
	status := 0
	if res != nil {
		status = res.StatusCode
	}
	if c.metrics != nil {
		c.metrics.ObserveRequest(routeOf(req.Method, req.URL, c.cfg.BaseURL), status, c.clock.Now().Sub(start))
	}
	if res != nil {
		if n, ok := c.budget.ObserveServer(res.Header, c.clock.Now()); ok {
			if m, ok := c.metrics.(ServerMetrics); ok {
				m.ServerRemaining(c.hash, n)
			}
		}
	}
	if status == http.StatusTooManyRequests {
		wait, ok := parseRetryAfter(res.Header.Get("Retry-After"), c.clock.Now())
		if !ok {
			wait = defaultRetryAfter
		}
		c.budget.BlockFor(wait)
	}
	c.reportBudget()
	return res, err
}

func (c *sdkClient) reportBudget() {
	if c.metrics != nil {
		c.metrics.BudgetRemaining(c.hash, c.budget.Remaining())
	}
}

// Remaining is how many requests this client's credential may still make in the current window.
func (c *sdkClient) Remaining() int { return c.budget.Remaining() }

// routeOf names a request for metrics without ids: "GET /accounts/{id}/tokens/{id}".
func routeOf(method string, u *url.URL, baseURL string) string {
	p := u.Path
	if b, err := url.Parse(baseURL); err == nil {
		p = strings.TrimPrefix(p, strings.TrimRight(b.Path, "/"))
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i, s := range segs {
		if i > 0 && isRouteParam(segs[i-1], s) {
			segs[i] = "{id}"
		}
	}
	return method + " /" + strings.Join(segs, "/")
}

// isRouteParam says whether seg, following prev, is an identifier rather than a fixed path element.
func isRouteParam(prev, seg string) bool {
	switch prev {
	case "accounts", "zones", "dns_records":
		return true
	case "tokens":
		return seg != "verify" && seg != "permission_groups"
	}
	return false
}

// ctxErr refuses work on a context that is already done, before a budget slot is spent.
func ctxErr(ctx context.Context, op Op) error {
	if err := ctx.Err(); err != nil {
		return classify(op, err, time.Time{}) // a context error: no answer, no Retry-After
	}
	return nil
}

// Compile-time check that sdkClient is a Client.
var _ Client = (*sdkClient)(nil)
