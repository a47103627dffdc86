package cloudflaretest

import (
	"net/http"
	"strings"
	"time"
)

// handler serves one authenticated API route.
type handler func(w http.ResponseWriter, r *http.Request, p principal)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(route string, h handler) {
		method, path, _ := strings.Cut(route, " ")
		mux.Handle(method+" "+BasePath+path, s.wrap(route, h))
	}
	for _, o := range []ownerKind{userOwned, accountOwned} {
		base := o.basePath()
		api("POST "+base, s.createToken(o))
		api("GET "+base, s.listTokens(o))
		api("GET "+base+"/verify", s.verifyToken(o))
		api("GET "+base+"/permission_groups", s.listPermissionGroups(o))
		api("GET "+base+"/{token_id}", s.getToken(o))
		api("PUT "+base+"/{token_id}", s.updateToken(o))
		api("DELETE "+base+"/{token_id}", s.deleteTokenHandler(o))
		api("PUT "+base+"/{token_id}/value", s.rollToken(o))
	}
	api("GET /user", s.getUser)
	api("GET /zones", s.listZones)
	api("GET /zones/{zone_id}", s.getZone)
	api("GET /zones/{zone_id}/dns_records", s.listDNSRecords)
	api("POST /zones/{zone_id}/dns_records", s.createDNSRecord)
	api("DELETE /zones/{zone_id}/dns_records/{record_id}", s.deleteDNSRecord)
	mux.Handle("/", s.wrapUnrouted())
	s.adminRoutes(mux)
	return mux
}

// recorder remembers the status for the request counts.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// wrap applies, in Cloudflare's order as far as a client can tell: injected faults, authentication, the
// per-credential rate limit, then the route (which does its own authorization). Every answer to an
// authenticated caller carries Ratelimit and Ratelimit-Policy; injected faults and refused credentials, which
// have no bucket to report on, do not.
func (s *Server) wrap(route string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		defer func() { s.stats.record(route, rec.status, s.now()) }()
		storm, serverError := s.faults.before()
		switch {
		case storm:
			rateLimited(rec, time.Second) // a storm is short: Retry-After 1
			return
		case serverError:
			fail(rec, http.StatusInternalServerError, codeInternal, "Internal Server Error")
			return
		}
		p, af := s.authenticate(r)
		if af == invalidToken {
			af = s.deadCredential(route)
		}
		if af != nil {
			writeErr(rec, af.status, af.err)
			return
		}
		ok, remaining, reset := s.limiter.take(p.bucket, s.now(), s.cfg.rateLimit, s.cfg.rateWindow)
		s.rateHeaders(rec, remaining, reset)
		if !ok {
			rateLimited(rec, reset)
			return
		}
		h(rec, r, p)
	})
}

// wrapUnrouted answers paths no endpoint serves the way Cloudflare does, in the envelope.
func (s *Server) wrapUnrouted() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		defer func() { s.stats.record(r.Method+" unrouted", rec.status, s.now()) }()
		path := strings.TrimPrefix(r.URL.Path, BasePath)
		fail(rec, http.StatusNotFound, codeRouteNotFound, "Could not route to %s, perhaps your object identifier is invalid?", path)
	})
}
