// Package cloudflaretest is an in-memory Cloudflare API server for tests, in the spirit of net/http/httptest.
//
// It is held to Cloudflare's behaviour as ../shared/cloudflare-api.md describes it: the envelope, the HTTP
// statuses and error codes, authentication, each token's policies, status, validity window and request_ip
// condition, quotas and the rate limit. It is deliberately strict: a lenient fake would let a broken operator
// pass. See codes.go for the error codes it answers with, including the few Cloudflare does not document.
package cloudflaretest

import (
	"net"
	"net/http/httptest"
	"sort"
	"sync"
	"time"
)

// BasePath is the path prefix of every Cloudflare endpoint, as in https://api.cloudflare.com/client/v4.
const BasePath = "/client/v4"

// AdminPath is the prefix of the fake's own admin API; no real Cloudflare endpoint lives there.
const AdminPath = "/__fake"

// DefaultAccountID is the account seeded when WithAccounts is not given.
const DefaultAccountID = "023e105f4ecef8ad9ca31a8372d0c353"

// Option configures a Server.
type Option func(*config)

type config struct {
	accounts     []string
	zones        map[string][]string // account -> zone names, in order
	zonesSet     bool
	rateLimit    int
	rateWindow   time.Duration
	userQuota    int
	accountQuota int
	now          func() time.Time
	addr         string
	// Shapes of answers that vary at Cloudflare (shapes.go).
	notFound        NotFoundShape
	dead            DeadCredentialShape
	scannableKey    bool
	recentlyExpired time.Duration
}

// WithAccounts seeds these accounts instead of the default one. The first is AccountID().
func WithAccounts(ids ...string) Option {
	return func(c *config) { c.accounts = append([]string(nil), ids...) }
}

// WithZones seeds these zones in the account. Given at least once, it replaces the default zones.
func WithZones(accountID string, names ...string) Option {
	return func(c *config) {
		c.zonesSet = true
		c.zones[accountID] = append(c.zones[accountID], names...)
	}
}

// WithRateLimit sets the budget per credential: more than requests in window blocks the credential for a whole
// window. As at Cloudflare, the user's budget is shared by the global key and every user-owned token; each
// account-owned token has its own.
func WithRateLimit(requests int, window time.Duration) Option {
	return func(c *config) { c.rateLimit, c.rateWindow = requests, window }
}

// WithUserTokenQuota sets how many tokens the user may hold (Cloudflare: 50).
func WithUserTokenQuota(n int) Option { return func(c *config) { c.userQuota = n } }

// WithAccountTokenQuota sets how many tokens each account may hold (Cloudflare: 500).
func WithAccountTokenQuota(n int) Option { return func(c *config) { c.accountQuota = n } }

// WithClock replaces time.Now for validity windows, issue times and the rate window.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithAddr listens on addr (host:port) instead of 127.0.0.1:0; the standalone command uses it.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// Server is a running fake. All methods are safe for concurrent use.
type Server struct {
	cfg  config
	http *httptest.Server

	mu          sync.Mutex
	userTag     string
	email       string
	globalKey   string
	userParent  string            // value
	acctParents map[string]string // account -> value
	accounts    []string
	zones       []*zone // in seeding order
	tokens      map[string]*token
	byValue     map[string]*token
	issueSeq    int
	allValues   []string
	oldValues   map[string]string // id -> last value, kept for deleted tokens
	records     map[string][]*dnsRecord
	stats       stats
	limiter     limiter
	faults      faults
	shapes      shapes
}

// NewServer starts a fake on a loopback port, seeded with accounts, zones and parent credentials.
func NewServer(opts ...Option) *Server {
	cfg := config{
		zones:           map[string][]string{},
		rateLimit:       1200,
		rateWindow:      5 * time.Minute,
		userQuota:       50,
		accountQuota:    500,
		now:             time.Now,
		recentlyExpired: DefaultRecentlyExpired,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.accounts) == 0 {
		cfg.accounts = []string{DefaultAccountID}
	}
	if !cfg.zonesSet {
		cfg.zones[cfg.accounts[0]] = []string{"example.com", "example.org", "example.net", "example.tk"}
	}
	s := &Server{
		cfg:         cfg,
		userTag:     hexID("user", "fake-user"),
		email:       "ops@example.com",
		acctParents: map[string]string{},
		accounts:    cfg.accounts,
		tokens:      map[string]*token{},
		byValue:     map[string]*token{},
		oldValues:   map[string]string{},
		records:     map[string][]*dnsRecord{},
		faults:      faults{clientIP: "127.0.0.1"},
	}
	s.globalKey = randomHex(37)
	if cfg.scannableKey {
		s.globalKey = scannable(globalKeyPrefix)
	}
	s.shapes.notFound.Store(int32(cfg.notFound))
	s.shapes.dead.Store(int32(cfg.dead))
	s.limiter.init()
	s.seedZones()
	s.seedParents()

	s.http = httptest.NewUnstartedServer(s.routes())
	if cfg.addr != "" {
		l, err := net.Listen("tcp", cfg.addr)
		if err != nil {
			panic("cloudflaretest: listen on " + cfg.addr + ": " + err.Error())
		}
		s.http.Listener.Close()
		s.http.Listener = l
	}
	s.http.Start()
	return s
}

func (s *Server) now() time.Time { return s.cfg.now().UTC() }

// Close shuts the server down.
func (s *Server) Close() { s.http.Close() }

// URL is the API base URL, ending in /client/v4.
func (s *Server) URL() string { return s.http.URL + BasePath }

// AdminURL is the base of the admin API (see admin.go).
func (s *Server) AdminURL() string { return s.http.URL + AdminPath }

// AccountID is the first seeded account.
func (s *Server) AccountID() string { return s.accounts[0] }

// AccountIDs are all seeded accounts, in order.
func (s *Server) AccountIDs() []string { return append([]string(nil), s.accounts...) }

// Zone is a seeded zone.
type Zone struct{ ID, Name, AccountID string }

// Zones are the seeded zones, in seeding order.
func (s *Server) Zones() []Zone {
	out := make([]Zone, 0, len(s.zones))
	for _, z := range s.zones {
		out = append(out, Zone{ID: z.id, Name: z.name, AccountID: z.account})
	}
	return out
}

// ZoneID returns the id of the zone with this name, or "".
func (s *Server) ZoneID(name string) string {
	for _, z := range s.zones {
		if z.name == name {
			return z.id
		}
	}
	return ""
}

// UserParentToken is a user-owned token with "API Tokens Write", "User Details Read", and on every seeded
// account "Zone Read" on all its zones and "Account Settings Read".
func (s *Server) UserParentToken() string { return s.userParent }

// AccountParentToken is an account-owned token of accountID with "Account API Tokens Write", "Account
// Settings Read" and "Zone Read" on all the account's zones; "" for an unknown account.
func (s *Server) AccountParentToken(accountID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acctParents[accountID]
}

// GlobalAPIKey is the user's legacy key and e-mail: it may do anything the user may.
func (s *Server) GlobalAPIKey() (key, email string) { return s.globalKey, s.email }

// UserTag is the user's id, as in the resource key com.cloudflare.api.user.<tag>.
func (s *Server) UserTag() string { return s.userTag }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
