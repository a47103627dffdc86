package cloudflaretest

import "net/http"

// UseToken makes the call a consumer such as cert-manager makes first with a token (look up its zone,
// through the API, so that it counts against the rate limit and sets last_used_on) and returns the HTTP status.
func (s *Server) UseToken(value string) (int, error) {
	name := "example.com"
	if len(s.zones) > 0 {
		name = s.zones[0].name
	}
	req, err := http.NewRequest(http.MethodGet, s.URL()+"/zones?name="+name, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+value)
	res, err := s.http.Client().Do(req)
	if err != nil {
		return 0, err
	}
	_ = res.Body.Close()
	return res.StatusCode, nil
}
