package cloudflaretest

import (
	"math/rand/v2"
	"sync"
	"time"
)

// faults are the failures a test switches on. They have their own lock so that latency never holds the
// state lock.
type faults struct {
	mu          sync.Mutex
	latency     time.Duration
	errorRatio  float64
	storm       bool
	loseCreates int
	clientIP    string
}

// SetLatency delays every API answer by d.
func (s *Server) SetLatency(d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.latency = d
}

// SetServerErrorRatio answers this fraction of API requests with 500 before doing anything.
func (s *Server) SetServerErrorRatio(p float64) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.errorRatio = p
}

// SetRateLimitStorm answers every API request with 429, code 971 and Retry-After while on.
func (s *Server) SetRateLimitStorm(on bool) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.storm = on
}

// LoseCreateAnswers makes the next n token creates commit the token, then answer 500: the caller cannot know
// that the token exists.
func (s *Server) LoseCreateAnswers(n int) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.loseCreates = n
}

// SetClientIP sets the address request_ip conditions are checked against (default 127.0.0.1).
func (s *Server) SetClientIP(ip string) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.clientIP = ip
}

// RevokeOutOfBand deletes the token as if someone did it in the dashboard.
func (s *Server) RevokeOutOfBand(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[id]; t != nil {
		s.deleteToken(t)
	}
}

// DisableOutOfBand sets the token's status to disabled.
func (s *Server) DisableOutOfBand(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[id]; t != nil {
		t.status = statusDisabled
		t.modifiedOn = s.now().Truncate(time.Second)
	}
}

// ExposeOutOfBand deactivates the token as Cloudflare does with a token found leaked in public: its status
// becomes "revoked (exposed)", it stops working at once, and it still exists and counts against the quota.
func (s *Server) ExposeOutOfBand(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[id]; t != nil {
		t.status = statusExposed
		t.modifiedOn = s.now().Truncate(time.Second)
	}
}

func (f *faults) getClientIP() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clientIP
}

// before is applied to every API request ahead of anything else: it sleeps, then says whether to answer
// 429 (storm) or 500.
func (f *faults) before() (storm, serverError bool) {
	f.mu.Lock()
	d, ratio := f.latency, f.errorRatio
	storm = f.storm
	f.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	return storm, ratio > 0 && rand.Float64() < ratio
}

// takeLostCreate consumes one "lose the answer" fault.
func (f *faults) takeLostCreate() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.loseCreates > 0 {
		f.loseCreates--
		return true
	}
	return false
}
