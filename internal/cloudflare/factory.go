package cloudflare

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// DefaultBaseURL is Cloudflare's API.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// Defaults of FactoryOptions.
const (
	DefaultRequestsPer5m  = 1000
	DefaultCacheTTL       = 10 * time.Minute
	DefaultRequestTimeout = 30 * time.Second
)

// Metrics receives what the client observes. A nil Metrics is fine. Implementations must be cheap and safe
// for concurrent use; they are called on every request.
type Metrics interface {
	// ObserveRequest is called once per HTTP request with its route ("GET /user/tokens/{id}"), the HTTP
	// status (0 for transport errors) and its duration. Calls refused by the client-side budget are not
	// requests and are not observed.
	ObserveRequest(endpoint string, status int, d time.Duration)
	// BudgetRemaining reports the requests left in a credential's budget, keyed by CredentialHash.
	BudgetRemaining(credentialHash string, n int)
}

// ServerMetrics is what a Metrics may also implement: the remaining requests Cloudflare reports (Ratelimit
// header) on each answer for a credential, which counts every client of the same user, not just the operator.
type ServerMetrics interface {
	ServerRemaining(credentialHash string, n int)
}

// FactoryOptions configure NewFactory; the zero value is usable.
type FactoryOptions struct {
	// RequestsPer5m is the client-side budget per credential (default 1000, below Cloudflare's 1200).
	RequestsPer5m int
	// HTTPClient carries every request (default: a client on http.DefaultTransport).
	HTTPClient *http.Client
	// Clock is the clock of the budget, the caches and Retry-After dates (default the real clock).
	Clock clock.Clock
	// CacheTTL is how long resolved zones and permission groups are reused (default 10m).
	CacheTTL time.Duration
	// RequestTimeout bounds each HTTP request (default 30s).
	RequestTimeout time.Duration
	// MaxBudgetWait is the longest a call waits in-process for a budget slot before it returns
	// ClassRateLimited (default 2s).
	MaxBudgetWait time.Duration
	// Metrics is optional.
	Metrics Metrics
	// Log receives the Cloudflare answers the client does not recognise, once each (default: the
	// controller-runtime logger named "cloudflare").
	Log logr.Logger
}

// idleEviction is how long an unused client (and its caches) or budget is kept. It is longer than the
// budget window so that forgetting a budget never forgets requests still inside it.
const idleEviction = time.Hour

type factory struct {
	opts   FactoryOptions
	errLog *errorLog

	mu      sync.Mutex
	budgets map[string]*Budget
	clients map[string]*clientEntry // by ConfigKey
}

type clientEntry struct {
	client     *sdkClient
	credential string // CredentialHash: the budget it shares
	lastUsed   time.Time
}

// NewFactory returns a Factory whose clients share, per credential, one request budget, and per (credential,
// account, owner, base URL) one zone and permission-group cache.
func NewFactory(opts FactoryOptions) Factory {
	if opts.RequestsPer5m <= 0 {
		opts.RequestsPer5m = DefaultRequestsPer5m
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: http.DefaultTransport}
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.MaxBudgetWait <= 0 {
		opts.MaxBudgetWait = defaultMaxBudgetWait
	}
	if opts.Log.GetSink() == nil {
		opts.Log = ctrllog.Log.WithName("cloudflare")
	}
	return &factory{opts: opts, errLog: newErrorLog(opts.Log), budgets: map[string]*Budget{}, clients: map[string]*clientEntry{}}
}

// ClientFor returns the client of cfg. Calling it on every reconcile is cheap and keeps the caches: the same
// configuration gets the same client back.
func (f *factory) ClientFor(cfg Config) (Client, error) {
	cfg, err := normalizeConfig(cfg)
	if err != nil {
		return nil, err
	}
	hash := CredentialHash(cfg.Credential)
	key := configKey(cfg)

	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.opts.Clock.Now()
	f.evictIdle(now)
	if e, ok := f.clients[key]; ok {
		e.lastUsed = now
		return e.client, nil
	}
	b, ok := f.budgets[hash]
	if !ok {
		b = NewBudget(f.opts.RequestsPer5m, budgetWindow, f.opts.Clock)
		b.maxWait = f.opts.MaxBudgetWait
		f.budgets[hash] = b
	}
	c := newSDKClient(cfg, hash, b, f.opts, f.errLog)
	f.clients[key] = &clientEntry{client: c, credential: hash, lastUsed: now}
	return c, nil
}

// evictIdle forgets clients unused for idleEviction (a rotated parent credential leaves its old entry behind)
// and budgets that no client uses and that hold no recent request. Callers hold f.mu.
func (f *factory) evictIdle(now time.Time) {
	cutoff := now.Add(-idleEviction)
	used := map[string]bool{}
	for k, e := range f.clients {
		if e.lastUsed.Before(cutoff) {
			delete(f.clients, k)
			continue
		}
		used[e.credential] = true
	}
	for h, b := range f.budgets {
		if !used[h] && b.idleSince(now.Add(-budgetWindow)) {
			delete(f.budgets, h)
		}
	}
}

// ConfigKey identifies the token owner a client of cfg talks to: the credential (by digest), owner, account
// and base URL, normalised as ClientFor normalises them. The factory's clients and caches and the operator's
// per-owner state (the token inventory) are all keyed by it, so that two spellings of one owner share them.
func ConfigKey(cfg Config) string { return configKey(normalize(cfg)) }

func configKey(cfg Config) string {
	return strings.Join([]string{CredentialHash(cfg.Credential), string(cfg.Owner), cfg.AccountID, cfg.BaseURL}, "/")
}

// normalizeConfig applies defaults and refuses configurations that cannot work, before any request.
func normalizeConfig(cfg Config) (Config, error) {
	invalid := func(msg string) (Config, error) {
		return cfg, &Error{Op: OpConfigure, Class: ClassInvalid, Message: msg}
	}
	cfg = normalize(cfg)
	c := cfg.Credential
	switch {
	case cfg.Owner != OwnerUser && cfg.Owner != OwnerAccount:
		return invalid("token owner must be User or Account, not " + string(cfg.Owner))
	case c.APIToken.IsZero() && c.APIKey.IsZero():
		return invalid("no credential: set an API token, or an API key with its e-mail")
	case !c.APIToken.IsZero() && !c.APIKey.IsZero():
		return invalid("both an API token and an API key are set; use one")
	case !c.APIKey.IsZero() && c.Email == "":
		return invalid("an API key needs the account e-mail")
	case cfg.Owner == OwnerAccount && cfg.AccountID == "":
		return invalid("account-owned tokens need an account ID")
	}
	return cfg, nil
}

// normalize trims what was read from files and applies the defaults.
func normalize(cfg Config) Config {
	// A value read from a file often ends in a newline; Cloudflare refuses such headers (6003).
	cfg.Credential.APIToken = NewSecret(strings.TrimSpace(cfg.Credential.APIToken.Reveal()))
	cfg.Credential.APIKey = NewSecret(strings.TrimSpace(cfg.Credential.APIKey.Reveal()))
	cfg.Credential.Email = strings.TrimSpace(cfg.Credential.Email)
	cfg.AccountID = strings.TrimSpace(cfg.AccountID)
	cfg.BaseURL = strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Owner == "" {
		cfg.Owner = OwnerUser
	}
	return cfg
}

// CredentialHash identifies a credential without revealing it: the key of budgets and caches, and the label
// under which metrics report a budget.
func CredentialHash(c Credential) string {
	h := sha256.New()
	if tok := strings.TrimSpace(c.APIToken.Reveal()); tok != "" {
		h.Write([]byte("token\x00" + tok))
	} else {
		h.Write([]byte("key\x00" + strings.TrimSpace(c.APIKey.Reveal()) + "\x00" + strings.TrimSpace(c.Email)))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
