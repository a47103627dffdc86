// Command fakecloudflare runs the in-memory Cloudflare API (internal/cloudflare/cloudflaretest) standalone for
// the demo and the end-to-end suite. It prints one JSON line describing itself on stdout, then serves until
// SIGINT or SIGTERM. Faults and state are driven over the admin API under /__fake (see cloudflaretest/admin.go).
//
//	go run ./hack/fakecloudflare [-addr 127.0.0.1:0] [-latency 50ms] [-rate-limit 1200]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	latency := flag.Duration("latency", 0, "delay added to every API answer")
	rateLimit := flag.Int("rate-limit", 1200, "requests per credential per 5 minutes")
	flag.Parse()

	srv := cloudflaretest.NewServer(cloudflaretest.WithAddr(*addr), cloudflaretest.WithRateLimit(*rateLimit, 5*time.Minute))
	defer srv.Close()
	srv.SetLatency(*latency)

	st := srv.State()
	line, err := json.Marshal(struct {
		URL                 string            `json:"url"`
		AccountID           string            `json:"accountID"`
		AccountIDs          []string          `json:"accountIDs"`
		Zones               map[string]string `json:"zones"`
		UserParentToken     string            `json:"userParentToken"`
		AccountParentTokens map[string]string `json:"accountParentTokens"`
		AdminURL            string            `json:"adminURL"`
	}{st.URL, st.AccountID, st.AccountIDs, st.Zones, st.UserParentToken, st.AccountParentTokens, st.AdminURL})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(line))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
