package cloudflaretest

import (
	"encoding/json"
	"net/http"
	"time"
)

// The admin API serves the standalone fake (hack/fakecloudflare) to tests in other processes. It lives under
// /__fake, which no Cloudflare endpoint uses, needs no credentials (the server only listens on loopback) and
// is not counted in the request statistics.
//
//	GET  /__fake/state                 url, accounts, zones, parent credentials
//	GET  /__fake/tokens                live tokens (no values)
//	POST /__fake/tokens                seed a token: SeedToken as JSON -> {"id","value"}
//	POST /__fake/tokens/{id}/revoke    delete out of band
//	POST /__fake/tokens/{id}/disable   disable out of band
//	POST /__fake/tokens/{id}/expose    deactivate as leaked: status "revoked (exposed)"
//	GET  /__fake/token-values          every value ever minted (leak tests)
//	GET  /__fake/counts                {"counts","total","maxIn5m"}
//	POST /__fake/counts/reset
//	POST /__fake/ratelimits/reset
//	PUT  /__fake/faults                {"latency":"50ms","serverErrorRatio":0.1,"rateLimitStorm":true,"loseCreateAnswers":1,"clientIP":"..."}
//	GET  /__fake/zones/{zone_id}/dns_records
func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+AdminPath+"/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("GET "+AdminPath+"/tokens", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Tokens())
	})
	mux.HandleFunc("POST "+AdminPath+"/tokens", func(w http.ResponseWriter, r *http.Request) {
		var st SeedToken
		if err := json.NewDecoder(r.Body).Decode(&st); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body is not a SeedToken: " + err.Error()})
			return
		}
		id, value := s.Seed(st)
		writeJSON(w, http.StatusOK, map[string]string{"id": id, "value": value})
	})
	mux.HandleFunc("POST "+AdminPath+"/tokens/{id}/revoke", func(w http.ResponseWriter, r *http.Request) {
		s.RevokeOutOfBand(r.PathValue("id"))
		writeJSON(w, http.StatusOK, map[string]string{})
	})
	mux.HandleFunc("POST "+AdminPath+"/tokens/{id}/disable", func(w http.ResponseWriter, r *http.Request) {
		s.DisableOutOfBand(r.PathValue("id"))
		writeJSON(w, http.StatusOK, map[string]string{})
	})
	mux.HandleFunc("POST "+AdminPath+"/tokens/{id}/expose", func(w http.ResponseWriter, r *http.Request) {
		s.ExposeOutOfBand(r.PathValue("id"))
		writeJSON(w, http.StatusOK, map[string]string{})
	})
	mux.HandleFunc("GET "+AdminPath+"/token-values", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.AllTokenValues())
	})
	mux.HandleFunc("GET "+AdminPath+"/counts", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"counts": s.RequestCounts(), "total": s.TotalRequests(),
			"maxIn5m": s.MaxRequestsInWindow(5 * time.Minute)})
	})
	mux.HandleFunc("POST "+AdminPath+"/counts/reset", func(w http.ResponseWriter, r *http.Request) {
		s.ResetCounts()
		writeJSON(w, http.StatusOK, map[string]string{})
	})
	mux.HandleFunc("POST "+AdminPath+"/ratelimits/reset", func(w http.ResponseWriter, r *http.Request) {
		s.ResetRateLimits()
		writeJSON(w, http.StatusOK, map[string]string{})
	})
	mux.HandleFunc("PUT "+AdminPath+"/faults", s.adminFaults)
	mux.HandleFunc("GET "+AdminPath+"/zones/{zone_id}/dns_records", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.DNSRecords(r.PathValue("zone_id")))
	})
}

type faultsBody struct {
	Latency           *string  `json:"latency"`
	ServerErrorRatio  *float64 `json:"serverErrorRatio"`
	RateLimitStorm    *bool    `json:"rateLimitStorm"`
	LoseCreateAnswers *int     `json:"loseCreateAnswers"`
	ClientIP          *string  `json:"clientIP"`
}

// adminFaults sets the faults given; absent fields keep their current value.
func (s *Server) adminFaults(w http.ResponseWriter, r *http.Request) {
	var b faultsBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if b.Latency != nil {
		d, err := time.ParseDuration(*b.Latency)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "latency: " + err.Error()})
			return
		}
		s.SetLatency(d)
	}
	if b.ServerErrorRatio != nil {
		s.SetServerErrorRatio(*b.ServerErrorRatio)
	}
	if b.RateLimitStorm != nil {
		s.SetRateLimitStorm(*b.RateLimitStorm)
	}
	if b.LoseCreateAnswers != nil {
		s.LoseCreateAnswers(*b.LoseCreateAnswers)
	}
	if b.ClientIP != nil {
		s.SetClientIP(*b.ClientIP)
	}
	writeJSON(w, http.StatusOK, map[string]string{})
}

// State is what the standalone command prints and GET /__fake/state serves.
type State struct {
	URL                 string            `json:"url"`
	AccountID           string            `json:"accountID"`
	AccountIDs          []string          `json:"accountIDs"`
	Zones               map[string]string `json:"zones"`
	UserParentToken     string            `json:"userParentToken"`
	AccountParentTokens map[string]string `json:"accountParentTokens"`
	GlobalAPIKey        string            `json:"globalAPIKey"`
	Email               string            `json:"email"`
	UserTag             string            `json:"userTag"`
	AdminURL            string            `json:"adminURL"`
}

// State describes the running fake.
func (s *Server) State() State {
	st := State{URL: s.URL(), AccountID: s.AccountID(), AccountIDs: s.AccountIDs(), Zones: map[string]string{},
		UserParentToken: s.UserParentToken(), AccountParentTokens: map[string]string{}, GlobalAPIKey: s.globalKey,
		Email: s.email, UserTag: s.userTag, AdminURL: s.AdminURL()}
	for _, z := range s.Zones() {
		st.Zones[z.Name] = z.ID
	}
	for _, a := range s.accounts {
		st.AccountParentTokens[a] = s.AccountParentToken(a)
	}
	return st
}
