package certmanager_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
	"github.com/tokenoperator/cloudflare-token-operator/test/certmanager"
)

func zoneKey(id string) string { return "com.cloudflare.api.account.zone." + id }

func seed(srv *cloudflaretest.Server, groups []string, zoneIDs ...string) string {
	res := map[string]any{}
	for _, id := range zoneIDs {
		res[zoneKey(id)] = "*"
	}
	_, v := srv.Seed(cloudflaretest.SeedToken{Name: "dns01", Policies: []cloudflaretest.Policy{
		{Effect: "allow", PermissionGroupIDs: groups, Resources: res}}})
	return v
}

// No t.Parallel: Solve swaps http.DefaultTransport.
func TestCertManagerSolverAgainstTheFake(t *testing.T) {
	os.Unsetenv("CLOUDFLARE_EMAIL")
	os.Unsetenv("CLOUDFLARE_API_KEY")
	srv := cloudflaretest.NewServer()
	defer srv.Close()
	com := srv.ZoneID("example.com")
	full := seed(srv, []string{cloudflaretest.PermZoneRead, cloudflaretest.PermDNSWrite}, com)

	// Zone Read + DNS Write on the zone: the TXT record appears, then goes.
	err := certmanager.Solve(srv.URL(), full, "www.example.com", func() error {
		recs := srv.DNSRecords(com)
		if len(recs) != 1 || recs[0].Type != "TXT" || recs[0].Name != "_acme-challenge.www.example.com" || recs[0].Content != "challenge-value" {
			return fmt.Errorf("records after Present: %+v", recs)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("solve with Zone Read + DNS Write: %v", err)
	}
	if recs := srv.DNSRecords(com); len(recs) != 0 {
		t.Fatalf("CleanUp left %+v", recs)
	}
	if srv.RequestCount("POST", "/zones/{zone_id}/dns_records") != 1 || srv.RequestCount("DELETE", "/zones/{zone_id}/dns_records/{record_id}") != 1 {
		t.Fatalf("counts %v", srv.RequestCounts())
	}

	// Without DNS Write: refused (DNS list needs DNS Read/Write, code 10000).
	readOnly := seed(srv, []string{cloudflaretest.PermZoneRead}, com)
	err = certmanager.Solve(srv.URL(), readOnly, "www.example.com", nil)
	if err == nil || !strings.Contains(err.Error(), "10000") {
		t.Fatalf("without DNS Write: %v", err)
	}
	// DNS Read is not enough to create the record either.
	dnsRead := seed(srv, []string{cloudflaretest.PermZoneRead, cloudflaretest.PermDNSRead}, com)
	err = certmanager.Solve(srv.URL(), dnsRead, "www.example.com", nil)
	if err == nil || !strings.Contains(err.Error(), "10000") {
		t.Fatalf("with DNS Read only: %v", err)
	}

	// A zone outside the token: the zone walk finds nothing.
	err = certmanager.Solve(srv.URL(), full, "www.example.org", nil)
	if err == nil || !strings.Contains(err.Error(), "Found no Zones") {
		t.Fatalf("zone outside the token: %v", err)
	}
	if len(srv.DNSRecords(srv.ZoneID("example.org"))) != 0 || len(srv.DNSRecords(com)) != 0 {
		t.Fatal("a refused solve left records")
	}

	// Blocked TLD: Cloudflare refuses DNS writes through the API (1038).
	tk := srv.ZoneID("example.tk")
	err = certmanager.Solve(srv.URL(), seed(srv, []string{cloudflaretest.PermZoneRead, cloudflaretest.PermDNSWrite}, tk), "example.tk", nil)
	if err == nil || !strings.Contains(err.Error(), "1038") {
		t.Fatalf("blocked TLD: %v", err)
	}
}
