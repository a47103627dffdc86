package cloudflaretest

import "net/http"

func (s *Server) adminRoutes(mux *http.ServeMux) {}
