package cloudflaretest_test

// Checks of wire details the SDK cannot express: the request.ip spelling, bodies without Content-Type as
// cert-manager sends them, the envelope on every reply, and the admin API.

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

type rawReply struct {
	status      int
	contentType string
	header      http.Header
	Success     bool `json:"success"`
	Errors      []struct {
		Code int `json:"code"`
	} `json:"errors"`
	Result json.RawMessage `json:"result"`
}

func raw(t *testing.T, method, url, token, body string) rawReply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := rawReply{status: res.StatusCode, contentType: res.Header.Get("Content-Type"), header: res.Header}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, url, b)
	}
	if r.contentType != "application/json" {
		t.Fatalf("%s %s: Content-Type %q", method, url, r.contentType)
	}
	if (r.status == http.StatusOK) != r.Success {
		t.Fatalf("%s %s: HTTP %d with success=%v", method, url, r.status, r.Success)
	}
	return r
}

func TestCreateAcceptsRequestDotIPAndAnswersRequestIP(t *testing.T) {
	srv := newServer(t)
	body := `{"name":"dotted","policies":[{"effect":"allow","permission_groups":[{"id":"` + cloudflaretest.PermZoneRead +
		`"}],"resources":{"com.cloudflare.api.account.zone.` + srv.ZoneID("example.com") + `":"*"}}],` +
		`"condition":{"request.ip":{"in":["10.0.0.0/8"],"not_in":["10.1.0.0/16"]}}}`
	r := raw(t, "POST", srv.URL()+"/user/tokens", srv.UserParentToken(), body)
	var res struct {
		ID        string `json:"id"`
		Condition struct {
			RequestIP struct {
				In    []string `json:"in"`
				NotIn []string `json:"not_in"`
			} `json:"request_ip"`
		} `json:"condition"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil || r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.Result)
	}
	if len(res.Condition.RequestIP.In) != 1 || res.Condition.RequestIP.NotIn[0] != "10.1.0.0/16" {
		t.Fatalf("condition not answered as request_ip: %s", r.Result)
	}
	tok, _ := srv.Token(res.ID)
	if len(tok.RequestIPIn) != 1 || tok.RequestIPIn[0] != "10.0.0.0/8" {
		t.Fatalf("stored condition %+v", tok)
	}
	if r := raw(t, "POST", srv.URL()+"/user/tokens", srv.UserParentToken(), `{"name":`); r.status != 400 || r.Errors[0].Code != 6007 {
		t.Fatalf("malformed JSON: %d %+v", r.status, r.Errors)
	}
}

func TestDNSRecordsAsCertManagerCallsThem(t *testing.T) {
	srv := newServer(t)
	com, tk := srv.ZoneID("example.com"), srv.ZoneID("example.tk")
	_, value := srv.Seed(cloudflaretest.SeedToken{Name: "dns", Policies: []cloudflaretest.Policy{{Effect: "allow",
		PermissionGroupIDs: []string{cloudflaretest.PermZoneRead, cloudflaretest.PermDNSWrite},
		Resources:          map[string]any{zoneKey(com): "*", zoneKey(tk): "*"}}}})
	rec := `{"name":"_acme-challenge.example.com","type":"TXT","content":"abc","ttl":120}`
	r := raw(t, "POST", srv.URL()+"/zones/"+com+"/dns_records", value, rec) // no Content-Type
	if r.status != 200 {
		t.Fatalf("create: %d %+v", r.status, r.Errors)
	}
	if r := raw(t, "POST", srv.URL()+"/zones/"+com+"/dns_records", value, rec); r.status != 400 || r.Errors[0].Code != 81058 {
		t.Fatalf("duplicate: %d %+v", r.status, r.Errors)
	}
	list := raw(t, "GET", srv.URL()+"/zones/"+com+"/dns_records?per_page=100&type=TXT&name=_acme-challenge.example.com", value, "")
	var recs []struct{ ID, Name, Content string }
	_ = json.Unmarshal(list.Result, &recs)
	if len(recs) != 1 || recs[0].Content != "abc" {
		t.Fatalf("list: %s", list.Result)
	}
	if r := raw(t, "DELETE", srv.URL()+"/zones/"+com+"/dns_records/"+recs[0].ID, value, ""); r.status != 200 {
		t.Fatalf("delete: %d", r.status)
	}
	if r := raw(t, "DELETE", srv.URL()+"/zones/"+com+"/dns_records/"+recs[0].ID, value, ""); r.status != 404 || r.Errors[0].Code != 81044 {
		t.Fatalf("delete again: %d %+v", r.status, r.Errors)
	}
	r = raw(t, "POST", srv.URL()+"/zones/"+tk+"/dns_records", value, `{"name":"_acme-challenge.example.tk","type":"TXT","content":"abc","ttl":120}`)
	if r.status != 400 || r.Errors[0].Code != 1038 {
		t.Fatalf("blocked TLD: %d %+v", r.status, r.Errors)
	}
	if len(srv.DNSRecords(tk)) != 0 || len(srv.DNSRecords(com)) != 0 {
		t.Fatal("records left behind")
	}
	// Zone Read alone reads no DNS.
	_, readOnly := srv.Seed(cloudflaretest.SeedToken{Name: "zone read", Policies: []cloudflaretest.Policy{{Effect: "allow",
		PermissionGroupIDs: []string{cloudflaretest.PermZoneRead}, Resources: map[string]any{zoneKey(com): "*"}}}})
	if r := raw(t, "GET", srv.URL()+"/zones/"+com+"/dns_records", readOnly, ""); r.status != 403 || r.Errors[0].Code != 10000 {
		t.Fatalf("DNS read without DNS rights: %d %+v", r.status, r.Errors)
	}
}

func TestEveryReplyIsAnEnvelope(t *testing.T) {
	srv := newServer(t)
	if r := raw(t, "GET", srv.URL()+"/no/such/route", srv.UserParentToken(), ""); r.status != 404 || r.Errors[0].Code != 7003 {
		t.Fatalf("unrouted: %d %+v", r.status, r.Errors)
	}
	if r := raw(t, "GET", srv.URL()+"/user/tokens/verify", "", ""); r.status != 400 || r.Errors[0].Code != 9106 {
		t.Fatalf("no credentials: %d %+v", r.status, r.Errors)
	}
	if r := raw(t, "GET", srv.URL()+"/user/tokens/ffff", srv.UserParentToken(), ""); r.status != 404 {
		t.Fatalf("unknown token: %d", r.status)
	}
	// No error message carries a token value.
	r := raw(t, "GET", srv.URL()+"/zones/"+srv.ZoneID("example.com"), srv.AccountParentToken(srv.AccountID())+"x", "")
	for _, v := range srv.AllTokenValues() {
		if strings.Contains(string(r.Result), v) {
			t.Fatal("value in reply")
		}
	}
}

func TestAdminAPI(t *testing.T) {
	srv := newServer(t)
	res, err := http.Get(srv.AdminURL() + "/state")
	if err != nil {
		t.Fatal(err)
	}
	var st cloudflaretest.State
	_ = json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	if st.URL != srv.URL() || st.Zones["example.com"] != srv.ZoneID("example.com") || st.UserParentToken != srv.UserParentToken() {
		t.Fatalf("state %+v", st)
	}
	seed := `{"Name":"foreign","Policies":[{"Effect":"allow","PermissionGroupIDs":["` + cloudflaretest.PermZoneRead +
		`"],"Resources":{"com.cloudflare.api.account.` + srv.AccountID() + `":{"com.cloudflare.api.account.zone.*":"*"}}}]}`
	res, err = http.Post(srv.AdminURL()+"/tokens", "application/json", strings.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	var seeded struct{ ID, Value string }
	_ = json.NewDecoder(res.Body).Decode(&seeded)
	res.Body.Close()
	if r := raw(t, "GET", srv.URL()+"/zones/"+srv.ZoneID("example.org"), seeded.Value, ""); r.status != 200 {
		t.Fatalf("seeded nested token: %d", r.status)
	}
	req, _ := http.NewRequest("PUT", srv.AdminURL()+"/faults", strings.NewReader(`{"rateLimitStorm":true}`))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("faults: %v", err)
	}
	if r := raw(t, "GET", srv.URL()+"/user/tokens/verify", seeded.Value, ""); r.status != 429 {
		t.Fatalf("storm via admin: %d", r.status)
	}
	if res, err := http.Post(srv.AdminURL()+"/tokens/"+seeded.ID+"/revoke", "", nil); err != nil || res.StatusCode != 200 {
		t.Fatal("revoke")
	}
	if _, ok := srv.Token(seeded.ID); ok {
		t.Fatal("revoked token still live")
	}
}
