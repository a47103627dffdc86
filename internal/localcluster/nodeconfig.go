package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
)

// The one-node cluster's network: a bridge of its own whose address is the host's side (the API server,
// the fake Cloudflare API and the kubelet listen there, so that Pods reach them), the Pods' subnet behind
// it, and the Services' virtual range (kube-proxy's iptables rules).
const (
	BridgeName   = "ctobr0"
	HostIP       = "10.244.0.1"
	PodSubnet    = "10.244.0.0/24"
	ServiceRange = "10.96.0.0/24"
	// KubernetesServiceIP is the `kubernetes` Service's ClusterIP (the first of ServiceRange).
	KubernetesServiceIP = "10.96.0.1"
	NodeName            = "cto-node"
	kubeletName         = "kubelet"
	kubeProxyName       = "kube-proxy"
	// cgroupName holds every process of the cluster (control plane, containerd and its shims, the
	// kubelet's Pods under <cgroupName>/kubepods): teardown kills the whole tree.
	cgroupName = "cto-cluster"
	// PauseImage is the sandbox image, built from internal/localcluster/pause and imported (never pulled).
	PauseImage = "registry.k8s.io/pause:3.10"
)

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

// containerdConfig: state under dir, runc at runc (restrict_oom_score_adj: this sandbox refuses to lower
// oom_score_adj, which every sandbox would otherwise try), the locally built pause image pinned, CNI from
// cniBin with dir/cni/net.d, and registry hosts from dir/certs.d (docker.io mirrored by the local registry).
func containerdConfig(dir, runc, cniBin string) string {
	return fmt.Sprintf(`version = 3
root = %[1]q
state = %[2]q
# NRI would listen on /var/run/nri; nothing here uses it.
disabled_plugins = ['io.containerd.nri.v1.nri']

[grpc]
  address = %[3]q

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = %[4]q
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = %[5]q

  [plugins.'io.containerd.cri.v1.runtime']
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = %[6]q
          # runc's state in the cluster's directory, not in the fixed /run/containerd/runc.
          Root = %[10]q
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [%[7]q]
      conf_dir = %[8]q

  [plugins.'io.containerd.internal.v1.opt']
    path = %[9]q
`, filepath.Join(dir, "containerd", "root"), filepath.Join(dir, "containerd", "state"), containerdSocket(dir),
		PauseImage, filepath.Join(dir, "certs.d"), runc, cniBin, filepath.Join(dir, "cni", "net.d"),
		filepath.Join(dir, "containerd", "opt"), filepath.Join(dir, "runc"))
}

func containerdSocket(dir string) string { return filepath.Join(dir, "containerd.sock") }

// registryHosts mirrors docker.io (where the chart's and install.yaml's image controller:latest lives) to
// the local registry on 127.0.0.1:port, over plain HTTP.
func registryHosts(port int) string {
	return fmt.Sprintf(`server = "https://registry-1.docker.io"

[host."http://127.0.0.1:%d"]
  capabilities = ["pull", "resolve"]
  skip_verify = true
`, port)
}

// cniConfig: a bridge network on BridgeName, addresses from PodSubnet (host-local, state in dir), no
// masquerading (Pods only talk to this host and to each other).
func cniConfig(dir string) string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "cto",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": %q, "gateway": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": %q
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, BridgeName, PodSubnet, HostIP, filepath.Join(dir, "cni", "ipam"))
}

// kubeletConfig: what this machine needs (cgroups v1 with the cgroupfs driver, swap, no lowering of
// oom_score_adj), its Pods under cgroupName, authentication by client certificate and webhook, and no
// image garbage collection or disk eviction (the imported images must stay).
func kubeletConfig(dir string, p *pki, healthzPort int) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %[1]s
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %[2]d
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupRoot: /%[3]s
containerRuntimeEndpoint: unix://%[4]s
podLogsDir: %[5]s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %[6]s}
authorization: {mode: Webhook}
tlsCertFile: %[7]s
tlsPrivateKeyFile: %[8]s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {"memory.available": "50Mi", "nodefs.available": "1%%", "imagefs.available": "1%%"}
resolvConf: /etc/resolv.conf
serializeImagePulls: false
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusReportFrequency: 10s
`, HostIP, healthzPort, cgroupName, containerdSocket(dir), filepath.Join(dir, "pod-logs"), p.CAFile(),
		p.path("kubelet-serving.crt"), p.path("kubelet-serving.key"))
}

// kubeProxyConfig: iptables mode, changing no sysctl this sandbox may refuse (conntrack sizes and
// timeouts, route_localnet for localhost NodePorts).
func kubeProxyConfig(kubeconfig string, healthzPort, metricsPort int) string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: %s
hostnameOverride: %s
clusterCIDR: %s
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:%d
metricsBindAddress: 127.0.0.1:%d
iptables:
  localhostNodePorts: false
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
  udpTimeout: 0s
  udpStreamTimeout: 0s
`, kubeconfig, NodeName, PodSubnet, healthzPort, metricsPort)
}
