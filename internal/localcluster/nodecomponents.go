package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// startControlPlane: certificates, etcd, kube-apiserver on HostIP, kube-controller-manager, kube-scheduler.
func (c *Cluster) startControlPlane(ctx context.Context) error {
	p, err := newPKI(filepath.Join(c.dir, "pki"))
	if err != nil {
		return err
	}
	if err := p.serviceAccountKey(); err != nil {
		return err
	}
	certs := []struct {
		name, cn string
		orgs     []string
		hosts    []string
	}{
		{"apiserver", "kube-apiserver", nil, []string{HostIP, KubernetesServiceIP, "127.0.0.1", "localhost", "kubernetes",
			"kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}},
		{"kubelet-serving", "system:node:" + NodeName, nil, []string{HostIP, NodeName, "localhost"}},
		{"admin", "cto-admin", []string{"system:masters"}, nil},
		{"apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"}, nil},
		{kubeletName, "system:node:" + NodeName, []string{"system:nodes"}, nil},
		{"kube-controller-manager", "system:kube-controller-manager", nil, nil},
		{"kube-scheduler", "system:kube-scheduler", nil, nil},
		{kubeProxyName, "system:kube-proxy", nil, nil},
	}
	for _, cert := range certs {
		if err := p.issue(cert.name, cert.cn, cert.orgs, cert.hosts...); err != nil {
			return err
		}
	}
	ports, err := freePorts("127.0.0.1", 4)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, kcmPort, schedPort := ports[0], ports[1], ports[2], ports[3]
	apiPort, err := freePort(HostIP)
	if err != nil {
		return err
	}
	c.APIServer = fmt.Sprintf("https://%s:%d", HostIP, apiPort)
	kubeconfigs := map[string]string{}
	for _, name := range []string{"admin", kubeletName, "kube-controller-manager", "kube-scheduler", kubeProxyName} {
		if kubeconfigs[name], err = p.kubeconfig(name, c.APIServer); err != nil {
			return err
		}
	}
	if err := c.loadAdmin(kubeconfigs["admin"]); err != nil {
		return err
	}

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	etcd, err := c.startProcess("etcd", nil, filepath.Join(c.opts.AssetsDir, "etcd"),
		"--name=cto", "--data-dir="+filepath.Join(c.dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL, "--initial-cluster=cto="+peerURL,
		"--unsafe-no-fsync") // a throw-away cluster: no fsync on a disk shared with builds
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, etcd, http.DefaultClient, etcdURL+"/health", time.Minute); err != nil {
		return err
	}

	api, err := c.startProcess("kube-apiserver", nil, filepath.Join(c.opts.AssetsDir, "kube-apiserver"),
		"--etcd-servers="+etcdURL,
		"--bind-address="+HostIP, "--secure-port="+itoa(apiPort), "--advertise-address="+HostIP,
		"--tls-cert-file="+p.path("apiserver.crt"), "--tls-private-key-file="+p.path("apiserver.key"),
		"--client-ca-file="+p.CAFile(),
		"--service-cluster-ip-range="+ServiceRange,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p.path("sa.pub"), "--service-account-signing-key-file="+p.path("sa.key"),
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--kubelet-client-certificate="+p.path("apiserver-kubelet-client.crt"),
		"--kubelet-client-key="+p.path("apiserver-kubelet-client.key"),
		"--profiling=false")
	if err != nil {
		return err
	}
	client, err := c.tlsClient(p)
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, api, client, c.APIServer+"/readyz", 3*time.Minute); err != nil {
		return err
	}

	if _, err := c.startProcess("kube-controller-manager", nil, c.opts.Node.ControllerManager,
		"--kubeconfig="+kubeconfigs["kube-controller-manager"],
		"--authentication-kubeconfig="+kubeconfigs["kube-controller-manager"],
		"--authorization-kubeconfig="+kubeconfigs["kube-controller-manager"],
		"--bind-address=127.0.0.1", "--secure-port="+itoa(kcmPort),
		"--service-account-private-key-file="+p.path("sa.key"), "--root-ca-file="+p.CAFile(),
		"--use-service-account-credentials", "--leader-elect=false",
		"--service-cluster-ip-range="+ServiceRange); err != nil {
		return err
	}
	if _, err := c.startProcess("kube-scheduler", nil, c.opts.Node.Scheduler,
		"--kubeconfig="+kubeconfigs["kube-scheduler"],
		"--authentication-kubeconfig="+kubeconfigs["kube-scheduler"],
		"--authorization-kubeconfig="+kubeconfigs["kube-scheduler"],
		"--bind-address=127.0.0.1", "--secure-port="+itoa(schedPort), "--leader-elect=false"); err != nil {
		return err
	}
	c.pki = p
	c.kubeconfigs = kubeconfigs
	return nil
}

// startContainerd runs containerd with its shim and runc first on PATH under their plain names.
func (c *Cluster) startContainerd(ctx context.Context) error {
	binDir := filepath.Join(c.dir, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	for name, target := range map[string]string{"containerd-shim-runc-v2": c.opts.Node.Shim, "runc": c.opts.Node.Runc} {
		if err := os.Symlink(target, filepath.Join(binDir, name)); err != nil {
			return err
		}
	}
	regPort, err := c.startRegistry()
	if err != nil {
		return err
	}
	for path, content := range map[string]string{
		filepath.Join(c.dir, "containerd.toml"):                    containerdConfig(c.dir, c.opts.Node.Runc, c.opts.Node.CNIDir),
		filepath.Join(c.dir, "certs.d", "docker.io", "hosts.toml"): registryHosts(regPort),
		filepath.Join(c.dir, "cni", "net.d", "10-cto.conflist"):    cniConfig(c.dir),
	} {
		if err := writeFile(path, content); err != nil {
			return err
		}
	}
	p, err := c.startProcess("containerd", []string{"PATH=" + binDir + ":" + os.Getenv("PATH")},
		c.opts.Node.Containerd, "--config="+filepath.Join(c.dir, "containerd.toml"))
	if err != nil {
		return err
	}
	return Eventually(ctx, time.Minute, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		if exited, werr := p.Exited(); exited {
			return false, Permanent(fmt.Errorf("containerd exited (%v)\n%s", werr, p.Tail(30)))
		}
		_, err := c.ctr(ctx, "version")
		return err == nil, err
	})
}

// ctr runs ctr against the cluster's containerd in the CRI's namespace.
func (c *Cluster) ctr(ctx context.Context, args ...string) (string, error) {
	return runCtx(ctx, c.opts.Node.Ctr, append([]string{"--address=" + containerdSocket(c.dir), "--namespace=k8s.io"}, args...)...)
}

// importImages builds the pause image and imports it with opts.Images into containerd.
func (c *Cluster) importImages(ctx context.Context) error {
	pause, err := buildPauseImage(ctx, c.opts.Root, filepath.Join(c.dir, "images"))
	if err != nil {
		return err
	}
	for _, archive := range append([]string{pause}, c.opts.Images...) {
		out, err := c.ctr(ctx, "images", "import", "--local", archive)
		if err != nil {
			return fmt.Errorf("importing %s: %w", archive, err)
		}
		fmt.Fprintf(c.log, "ctr images import %s: %s\n", filepath.Base(archive), strings.TrimSpace(out))
	}
	return nil
}

// startKubelet runs the kubelet as node NodeName with address HostIP.
func (c *Cluster) startKubelet(ctx context.Context) error {
	port, err := freePort("127.0.0.1")
	if err != nil {
		return err
	}
	cfg := filepath.Join(c.dir, "kubelet.yaml")
	if err := writeFile(cfg, kubeletConfig(c.dir, c.pki, port)); err != nil {
		return err
	}
	p, err := c.startProcess(kubeletName, nil, c.opts.Node.Kubelet,
		"--config="+cfg, "--kubeconfig="+c.kubeconfigs[kubeletName], "--root-dir="+filepath.Join(c.dir, kubeletName),
		"--hostname-override="+NodeName, "--node-ip="+HostIP, "--v=1")
	if err != nil {
		return err
	}
	return waitHTTP(ctx, p, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/healthz", port), 2*time.Minute)
}

// startKubeProxy runs kube-proxy in iptables mode and waits until it serves its health check.
func (c *Cluster) startKubeProxy(ctx context.Context) error {
	ports, err := freePorts("127.0.0.1", 2)
	if err != nil {
		return err
	}
	cfg := filepath.Join(c.dir, "kube-proxy.yaml")
	if err := writeFile(cfg, kubeProxyConfig(c.kubeconfigs[kubeProxyName], ports[0], ports[1])); err != nil {
		return err
	}
	p, err := c.startProcess(kubeProxyName, nil, c.opts.Node.KubeProxy, "--config="+cfg)
	if err != nil {
		return err
	}
	return waitHTTP(ctx, p, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/healthz", ports[0]), 2*time.Minute)
}

// waitNodeReady waits for the Node's Ready condition and the default ServiceAccount (the controllers run).
func (c *Cluster) waitNodeReady(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(c.Admin)
	if err != nil {
		return err
	}
	return Eventually(ctx, 3*time.Minute, time.Second, func(ctx context.Context) (bool, error) {
		for _, p := range c.procs {
			if exited, werr := p.Exited(); exited {
				return false, Permanent(fmt.Errorf("%s exited (%v)\n%s", p.Name, werr, p.Tail(30)))
			}
		}
		node, err := cs.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready := false
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				if cond.Status != corev1.ConditionTrue {
					return false, fmt.Errorf("node %s: %s: %s", NodeName, cond.Reason, cond.Message)
				}
				ready = true
			}
		}
		if !ready {
			return false, errors.New("node has no Ready condition yet")
		}
		if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return false, fmt.Errorf("default ServiceAccount: %w", err)
		}
		return true, nil
	})
}
