package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	Root      string       // the repository
	AssetsDir string       // kube-apiserver, etcd, kubectl (bin/k8s/<version>)
	Node      NodeBinaries // BuildNodeBinaries
	LogDir    string       // one log per component
	// Images are OCI archives imported into containerd and served by the docker.io mirror (make image's).
	Images []string
	Log    io.Writer // progress; nil discards
}

// Cluster is a one-node Kubernetes cluster on this machine: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, containerd + runc, the kubelet and kube-proxy, Pods on a CNI bridge. It needs root.
// Stop (idempotent) tears down everything it started or changed; StartCluster first tears down what a
// killed earlier run left (recorded in stateFile).
type Cluster struct {
	// Kubeconfig is a system:masters kubeconfig file; Admin the same as a client configuration.
	Kubeconfig string
	Admin      *rest.Config
	Kubectl    Kubectl
	// APIServer is the API server's URL (on HostIP, where Pods reach it too).
	APIServer string

	dir         string
	opts        ClusterOptions
	before      HostState
	procs       []*Process
	registry    *imageRegistry
	pki         *pki
	kubeconfigs map[string]string // per component
	sysctls     map[string]string // former values, restored on Stop
	unlock      func()            // LockHost's release, called by Stop
	log         io.Writer
}

// stateFile records a running cluster's directory and the host's state before it, for the teardown of a
// run that was killed before its Stop.
const stateFile = "/run/cto-cluster.json"

type savedState struct {
	Dir    string    `json:"dir"`
	Before HostState `json:"before"`
	Sysctl map[string]string
	// Owner is the pid of the process that started the cluster: while it lives, the cluster is not stale.
	Owner int `json:"owner"`
}

// StartCluster brings the cluster up and returns once the node is Ready and the `kubernetes` Service is
// programmed. On failure it tears down what it started.
func StartCluster(ctx context.Context, opts ClusterOptions) (c *Cluster, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the one-node cluster needs root (network, mounts, cgroups)")
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	unlock, err := LockHost(ctx, log)
	if err != nil {
		return nil, err
	}
	if err := CleanupStaleCluster(ctx, log); err != nil {
		unlock()
		return nil, fmt.Errorf("tearing down an earlier cluster: %w", err)
	}
	before, err := SnapshotHost()
	if err != nil {
		unlock()
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ctoc-") // short: unix socket paths live under it
	if err != nil {
		unlock()
		return nil, err
	}
	c = &Cluster{dir: dir, opts: opts, before: before, unlock: unlock, log: log}
	// The state first (with the sysctls' values to restore), then the host's changes: a run killed in
	// between leaves nothing the next run's CleanupStaleCluster does not know of.
	c.sysctls = currentSysctls()
	if err := saveState(savedState{Dir: dir, Before: before, Sysctl: c.sysctls, Owner: os.Getpid()}); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	if err := c.prepareHost(); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Stop())
		}
	}()
	for _, step := range []struct {
		name string
		f    func(context.Context) error
	}{
		{"control plane", c.startControlPlane},
		{"containerd", c.startContainerd},
		{"images", c.importImages},
		{kubeletName, c.startKubelet},
		{kubeProxyName, c.startKubeProxy},
		{"node Ready", c.waitNodeReady},
	} {
		start := time.Now()
		fmt.Fprintf(log, "cluster: %s\n", step.name)
		if err := step.f(ctx); err != nil {
			return c, fmt.Errorf("%s: %w", step.name, err)
		}
		fmt.Fprintf(log, "cluster: %s took %s\n", step.name, time.Since(start).Round(100*time.Millisecond))
	}
	return c, nil
}

// Dir is the cluster's working directory (certificates, configurations, containerd's and the kubelet's state).
func (c *Cluster) Dir() string { return c.dir }

// hostSysctls are the sysctls the cluster sets to 1 (Stop restores them).
var hostSysctls = []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/bridge/bridge-nf-call-iptables"}

// currentSysctls are hostSysctls' values now; one that does not exist is left out (no br_netfilter:
// bridged traffic skips iptables, which this cluster does not need).
func currentSysctls() map[string]string {
	sysctls := map[string]string{}
	for _, path := range hostSysctls {
		if old, err := os.ReadFile(path); err == nil {
			sysctls[path] = strings.TrimSpace(string(old))
		}
	}
	return sysctls
}

// prepareHost: IP forwarding, the cgroup, the bridge with HostIP.
func (c *Cluster) prepareHost() error {
	for path := range c.sysctls {
		if err := os.WriteFile(path, []byte("1"), 0); err != nil {
			return fmt.Errorf("setting %s: %w", path, err)
		}
	}
	if err := createCgroup(cgroupName); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"link", "add", BridgeName, "type", "bridge"},
		{"addr", "add", HostIP + "/24", "dev", BridgeName},
		{"link", "set", BridgeName, "up"},
	} {
		if _, err := run(exec.Command("ip", args...)); err != nil {
			return err
		}
	}
	return nil
}

func saveState(s savedState) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return os.WriteFile(stateFile, b, 0o600)
}

// startProcess starts one component in the cluster's cgroup with its log in LogDir/<name>.log.
func (c *Cluster) startProcess(name string, env []string, path string, args ...string) (*Process, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	p, err := StartProcess(name, cmd, filepath.Join(c.opts.LogDir, name+".log"))
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	if err := joinCgroup(cgroupName, p.Pid()); err != nil {
		return p, err
	}
	return p, nil
}

// waitHTTP polls url (with client) until it answers 200, failing early when p exits.
func waitHTTP(ctx context.Context, p *Process, client *http.Client, url string, timeout time.Duration) error {
	err := Eventually(ctx, timeout, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		if exited, werr := p.Exited(); exited {
			return false, Permanent(fmt.Errorf("%s exited (%v)", p.Name, werr))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("GET %s: %s", url, resp.Status)
	})
	if err != nil {
		return fmt.Errorf("%s not ready: %w\nlast lines of %s:\n%s", p.Name, err, p.LogPath, p.Tail(30))
	}
	return nil
}

// freePort is a TCP port free right now on ip, below the kernel's ephemeral range: a port the kernel hands
// out for ":0" can be taken, before the component binds it, by any outgoing connection or test listener
// of the busy shared machine; one below the range only by a program that names it.
func freePort(ip string) (int, error) {
	low := ephemeralLow()
	for range 200 {
		port := 10000 + rand.IntN(low-10000)
		l, err := net.Listen("tcp", net.JoinHostPort(ip, itoa(port)))
		if err != nil {
			continue // in use
		}
		_ = l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free TCP port on %s between 10000 and %d", ip, low)
}

// ephemeralLow is the first port of the kernel's ephemeral range (net.ipv4.ip_local_port_range).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if low, err := strconv.Atoi(f[0]); err == nil && low > 11000 {
				return low
			}
		}
	}
	return 32768
}

// freePorts is n distinct ports free right now on ip.
func freePorts(ip string, n int) ([]int, error) {
	ports := make([]int, 0, n)
	seen := map[int]bool{}
	for len(ports) < n {
		port, err := freePort(ip)
		if err != nil {
			return nil, err
		}
		if !seen[port] { // a port is free until bound: the same one may come twice
			seen[port] = true
			ports = append(ports, port)
		}
	}
	return ports, nil
}

// tlsClient trusts the cluster's CA and presents the admin certificate.
func (c *Cluster) tlsClient(p *pki) (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(p.path("admin.crt"), p.path("admin.key"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.CAPEM())
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}}, nil
}

func (c *Cluster) loadAdmin(kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	c.Kubeconfig, c.Admin = kubeconfig, cfg
	c.Kubectl = Kubectl{Path: filepath.Join(c.opts.AssetsDir, "kubectl"), Kubeconfig: kubeconfig, Dir: c.opts.Root}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }
