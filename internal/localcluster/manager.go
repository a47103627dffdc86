package localcluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// ManagerOptions configure StartManager.
type ManagerOptions struct {
	Bin           string // bin/manager
	Kubeconfig    string // whom the manager acts as
	CloudflareURL string // the fake's url
	LogPath       string
	// OperatorNamespace is --operator-namespace (default cloudflare-token-operator).
	OperatorNamespace string
	// MetricsAddr is --metrics-bind-address (served over HTTPS with authn/authz, as in the Deployment);
	// empty disables the metrics endpoint. FreeLoopbackAddr gives one.
	MetricsAddr string
	// ExtraArgs come last (e.g. --cluster-name=e2e, --zap-log-level=debug).
	ExtraArgs []string
	// ReadyTimeout bounds the wait for /readyz (default 1m).
	ReadyTimeout time.Duration
}

// Manager is bin/manager running as its own process.
type Manager struct {
	*Process
	// ProbeAddr is its --health-probe-bind-address (loopback).
	ProbeAddr string
	// MetricsAddr is its --metrics-bind-address, empty when disabled.
	MetricsAddr string
	Args        []string
}

// StartManager runs bin/manager with its log in opts.LogPath (no metrics endpoint, no leader election, the
// health probe on a free loopback port) and returns once /readyz answers 200.
func StartManager(ctx context.Context, opts ManagerOptions) (*Manager, error) {
	if opts.OperatorNamespace == "" {
		opts.OperatorNamespace = "cloudflare-token-operator"
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = time.Minute
	}
	probe, err := FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	metrics := opts.MetricsAddr
	if metrics == "" {
		metrics = "0"
	}
	args := append([]string{
		"--kubeconfig=" + opts.Kubeconfig,
		"--cloudflare-api-url=" + opts.CloudflareURL,
		"--operator-namespace=" + opts.OperatorNamespace,
		"--metrics-bind-address=" + metrics,
		"--health-probe-bind-address=" + probe,
		"--leader-elect=false",
	}, opts.ExtraArgs...)
	cmd := exec.Command(opts.Bin, args...)
	// The manager must not pick up the caller's cluster: only --kubeconfig counts.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+opts.Kubeconfig)
	p, err := StartProcess("manager", cmd, opts.LogPath)
	if err != nil {
		return nil, err
	}
	m := &Manager{Process: p, ProbeAddr: probe, MetricsAddr: opts.MetricsAddr, Args: args}
	err = Eventually(ctx, opts.ReadyTimeout, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		if exited, werr := p.Exited(); exited {
			return false, Permanent(fmt.Errorf("manager exited (%v)", werr))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+probe+"/readyz", nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("/readyz: %s", resp.Status)
	})
	if err != nil {
		_ = p.Stop(5 * time.Second)
		return nil, fmt.Errorf("manager not ready: %w\nlast lines of %s:\n%s", err, opts.LogPath, p.Tail(30))
	}
	return m, nil
}

// FreeLoopbackAddr is a loopback address with a port free right now.
func FreeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}
