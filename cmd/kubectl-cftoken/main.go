// Command kubectl-cftoken is the kubectl plugin of cloudflare-token-operator (`kubectl cftoken`): status
// of CloudflareTokens and issuers, rotation on demand, and a check of a Secret's token against Cloudflare.
// Install it with `go install github.com/tokenoperator/cloudflare-token-operator/cmd/kubectl-cftoken@latest`
// or through krew (.krew.yaml).
package main

import (
	"os"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cftokencli"
)

func main() {
	os.Exit(cftokencli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
