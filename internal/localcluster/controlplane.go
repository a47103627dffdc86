package localcluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ControlPlane is a kube-apiserver and an etcd (envtest's), with RBAC authorization and ServiceAccount
// token signing (envtest passes --service-account-issuer, --service-account-key-file and
// --service-account-signing-key-file with keys it generates), and no controllers: nothing garbage-collects
// by owner reference and namespaces are not finalized.
type ControlPlane struct {
	// Admin is a system:masters client configuration (a client certificate).
	Admin *rest.Config
	// AdminKubeconfig is Admin as a kubeconfig file's contents.
	AdminKubeconfig []byte

	env  *envtest.Environment
	logs []*os.File
}

// ControlPlaneOptions configure StartControlPlane.
type ControlPlaneOptions struct {
	AssetsDir string // kube-apiserver and etcd
	// LogDir receives kube-apiserver.log and etcd.log; empty discards their output.
	LogDir string
	// StartTimeout bounds the start (default 2m: the first start on a busy 2-core machine is slow).
	StartTimeout time.Duration
}

// StartControlPlane starts etcd and kube-apiserver and waits until the apiserver serves.
func StartControlPlane(opts ControlPlaneOptions) (*ControlPlane, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	cp := &ControlPlane{}
	apiServer := &envtest.APIServer{}
	etcd := &envtest.Etcd{}
	if opts.LogDir != "" {
		for _, p := range []struct {
			name     string
			out, err *io.Writer
		}{{"kube-apiserver.log", &apiServer.Out, &apiServer.Err}, {"etcd.log", &etcd.Out, &etcd.Err}} {
			if err := os.MkdirAll(opts.LogDir, 0o755); err != nil {
				return nil, err
			}
			f, err := os.Create(filepath.Join(opts.LogDir, p.name))
			if err != nil {
				cp.closeLogs()
				return nil, err
			}
			cp.logs = append(cp.logs, f)
			*p.out, *p.err = f, f
		}
	}
	cp.env = &envtest.Environment{
		BinaryAssetsDirectory:    opts.AssetsDir,
		ControlPlaneStartTimeout: opts.StartTimeout,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	cp.env.ControlPlane.APIServer = apiServer
	cp.env.ControlPlane.Etcd = etcd
	cfg, err := cp.env.Start()
	if err != nil {
		_ = cp.env.Stop()
		cp.closeLogs()
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", opts.AssetsDir, err)
	}
	cp.Admin = cfg
	cp.AdminKubeconfig = cp.env.KubeConfig
	return cp, nil
}

// Host is the apiserver's URL.
func (cp *ControlPlane) Host() string { return cp.Admin.Host }

// WriteAdminKubeconfig writes the system:masters kubeconfig to path (mode 0600).
func (cp *ControlPlane) WriteAdminKubeconfig(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, cp.AdminKubeconfig, 0o600)
}

// ServiceAccountToken asks the TokenRequest API for a token of ServiceAccount namespace/name, as the
// kubelet does for a Pod's projected token.
func (cp *ControlPlane) ServiceAccountToken(ctx context.Context, namespace, name string, ttl time.Duration) (string, error) {
	cs, err := kubernetes.NewForConfig(cp.Admin)
	if err != nil {
		return "", err
	}
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(ttl / time.Second))},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("TokenRequest for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	return tr.Status.Token, nil
}

// WriteServiceAccountKubeconfig writes to path a kubeconfig that authenticates as ServiceAccount
// namespace/name with a bearer token from the TokenRequest API: what a Pod of that ServiceAccount gets.
func (cp *ControlPlane) WriteServiceAccountKubeconfig(ctx context.Context, namespace, name, path string, ttl time.Duration) error {
	token, err := cp.ServiceAccountToken(ctx, namespace, name, ttl)
	if err != nil {
		return err
	}
	user := "system:serviceaccount:" + namespace + ":" + name
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: cp.Admin.Host, CertificateAuthorityData: cp.Admin.CAData}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: user, Namespace: namespace}
	kc.CurrentContext = "local"
	b, err := clientcmd.Write(*kc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// Stop stops kube-apiserver and etcd and removes their temporary directories (certificates, data).
func (cp *ControlPlane) Stop() error {
	if cp == nil || cp.env == nil {
		return nil
	}
	err := cp.env.Stop()
	cp.closeLogs()
	cp.env = nil
	return err
}

func (cp *ControlPlane) closeLogs() {
	for _, f := range cp.logs {
		_ = f.Close()
	}
	cp.logs = nil
}
