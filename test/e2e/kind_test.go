package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/tokenoperator/cloudflare-token-operator/internal/localcluster"
)

// setUpKind is kubebuilder's e2e path, for machines with a container engine (`make test-e2e-kind`, which
// creates the cluster, builds the image and loads it): config/default deployed as is, but for the image and
// --cloudflare-api-url, so that the manager runs in a Pod as its ServiceAccount. The fake runs on this host,
// listening on $E2E_FAKE_HOST, an address the kind node reaches (the kind network's gateway).
func setUpKind(ctx context.Context, root, cluster string) {
	var err error
	image := os.Getenv("E2E_IMG")
	fakeHost := os.Getenv("E2E_FAKE_HOST")
	Expect(image).NotTo(BeEmpty(), "E2E_IMG: the manager's image, loaded into the kind cluster")
	Expect(fakeHost).NotTo(BeEmpty(), "E2E_FAKE_HOST: an address of this host that the kind node reaches")
	Expect(net.ParseIP(fakeHost)).NotTo(BeNil(), "E2E_FAKE_HOST=%s is not an IP address", fakeHost)

	By("building bin/fakecloudflare and bin/kustomize")
	w.bins, err = localcluster.Build(ctx, root, localcluster.BuildOptions{Kustomize: true, NoControlPlane: true, Log: GinkgoWriter})
	Expect(err).NotTo(HaveOccurred())

	By("writing the kubeconfig of kind cluster " + cluster)
	kind := os.Getenv("KIND")
	if kind == "" {
		kind = "kind"
	}
	kc, err := exec.CommandContext(ctx, kind, "get", "kubeconfig", "--name", cluster).Output()
	Expect(err).NotTo(HaveOccurred(), "kind get kubeconfig --name %s", cluster)
	adminKubeconfig := filepath.Join(w.artifacts, "kind.kubeconfig")
	Expect(os.WriteFile(adminKubeconfig, kc, 0o600)).To(Succeed())
	w.admin = localcluster.Kubectl{Path: w.bins.Kubectl, Kubeconfig: adminKubeconfig, Dir: root}

	By("starting the fake Cloudflare API on " + fakeHost)
	w.fake, err = localcluster.StartFake(ctx, w.bins.Fake, filepath.Join(w.artifacts, "fakecloudflare.log"), 30*time.Second,
		"-addr", net.JoinHostPort(fakeHost, "0"))
	Expect(err).NotTo(HaveOccurred())

	By("deploying config/default with image " + image + " and --cloudflare-api-url=" + w.fake.Info.URL)
	stream, err := w.bins.KustomizeBuild(ctx, "config/default")
	Expect(err).NotTo(HaveOccurred())
	manifests, err := localcluster.MapManifests(stream, func(o localcluster.ObjectRef, doc []byte) ([]byte, error) {
		if o.Kind != "Deployment" {
			return doc, nil
		}
		var d appsv1.Deployment
		if err := yaml.Unmarshal(doc, &d); err != nil {
			return nil, err
		}
		for i := range d.Spec.Template.Spec.Containers {
			c := &d.Spec.Template.Spec.Containers[i]
			if c.Name == "manager" {
				c.Image, c.ImagePullPolicy = image, corev1.PullIfNotPresent
				c.Args = append(c.Args, "--cloudflare-api-url="+w.fake.Info.URL)
				return yaml.Marshal(&d)
			}
		}
		return nil, errors.New("no container named manager")
	})
	Expect(err).NotTo(HaveOccurred())
	applyInstall(ctx, string(manifests))
	mustKubectl(ctx, w.admin, "rollout", "status", "-n", operatorNamespace, "deployment/"+managerDeployment, "--timeout=3m")

	By("writing a kubeconfig for ServiceAccount " + operatorNamespace + "/" + serviceAccount + " (kubectl create token)")
	token := strings.TrimSpace(mustKubectl(ctx, w.admin, "create", "token", "-n", operatorNamespace, serviceAccount, "--duration=2h"))
	cfg, err := clientcmd.Load(kc)
	Expect(err).NotTo(HaveOccurred())
	kctx := cfg.Contexts[cfg.CurrentContext]
	Expect(kctx).NotTo(BeNil())
	cfg.AuthInfos[kctx.AuthInfo].ClientCertificateData = nil
	cfg.AuthInfos[kctx.AuthInfo].ClientKeyData = nil
	cfg.AuthInfos[kctx.AuthInfo].Token = token
	operatorKubeconfig := filepath.Join(w.artifacts, "manager.kubeconfig")
	Expect(clientcmd.WriteToFile(*cfg, operatorKubeconfig)).To(Succeed())
	w.operator = localcluster.Kubectl{Path: w.bins.Kubectl, Kubeconfig: operatorKubeconfig, Dir: root}

	w.op = &deploymentOperator{}
}

// deploymentOperator is the manager's Deployment in the kind cluster.
type deploymentOperator struct {
	portForward *localcluster.Process
	metricsURL  string
}

// MetricsURL port-forwards the metrics Service of config/default to a loopback port (once).
func (d *deploymentOperator) MetricsURL(ctx context.Context) (string, error) {
	if d.metricsURL != "" {
		return d.metricsURL, nil
	}
	cmd := exec.Command(w.bins.Kubectl, "--kubeconfig="+w.admin.Kubeconfig, "port-forward", "-n", operatorNamespace,
		"service/"+managerDeployment+"-metrics-service", "--address=127.0.0.1", ":8443")
	p, err := localcluster.StartProcess("port-forward", cmd, filepath.Join(w.artifacts, "port-forward.log"))
	if err != nil {
		return "", err
	}
	d.portForward = p
	re := regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) -> 8443`)
	err = localcluster.Eventually(ctx, 30*time.Second, 200*time.Millisecond, func(context.Context) (bool, error) {
		if m := re.FindStringSubmatch(p.Log()); m != nil {
			d.metricsURL = "https://127.0.0.1:" + m[1] + "/metrics"
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return "", fmt.Errorf("kubectl port-forward: %w\n%s", err, p.Log())
	}
	return d.metricsURL, nil
}

func (*deploymentOperator) Log() string {
	out, err := w.admin.Run(context.Background(), "logs", "-n", operatorNamespace, "deployment/"+managerDeployment,
		"-c", "manager", "--tail=-1")
	if err != nil {
		return fmt.Sprintf("(kubectl logs: %v)", err)
	}
	return out
}

// Alive: every manager container ready, none restarted.
func (*deploymentOperator) Alive(ctx context.Context) error {
	var pods corev1.PodList
	if err := w.admin.GetJSON(ctx, &pods, "pods", "-n", operatorNamespace, "-l", "control-plane=controller-manager"); err != nil {
		return err
	}
	if len(pods.Items) == 0 {
		return errors.New("no manager Pod")
	}
	for _, p := range pods.Items {
		for _, s := range p.Status.ContainerStatuses {
			if s.RestartCount > 0 || !s.Ready {
				return fmt.Errorf("pod %s container %s: ready=%t restarts=%d", p.Name, s.Name, s.Ready, s.RestartCount)
			}
		}
	}
	return nil
}

// Stop leaves the Deployment (`make test-e2e-kind` deletes the whole cluster) and ends the port-forward.
func (d *deploymentOperator) Stop() error {
	if d.portForward != nil {
		return d.portForward.Stop(5 * time.Second)
	}
	return nil
}
