package cftokencli

import (
	"fmt"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// kubeFlags are kubectl's connection flags (--kubeconfig, --context, -n, --as, ...): the plugin talks to
// the cluster exactly as the user's kubectl would, with the user's credentials.
type kubeFlags struct {
	loading   *clientcmd.ClientConfigLoadingRules
	overrides clientcmd.ConfigOverrides
}

func (k *kubeFlags) bind(fs *pflag.FlagSet) {
	k.loading = clientcmd.NewDefaultClientConfigLoadingRules()
	fs.StringVar(&k.loading.ExplicitPath, clientcmd.RecommendedConfigPathFlag, "",
		"Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	clientcmd.BindOverrideFlags(&k.overrides, fs, clientcmd.RecommendedConfigOverrideFlags(""))
}

// session is one command's connection to the cluster.
type session struct {
	kube client.Client
	// namespace is -n, else the kubeconfig context's namespace, else "default".
	namespace string
}

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := corev1.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := cfv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

func (k *kubeFlags) connect() (*session, error) {
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(k.loading, &k.overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	cfg.UserAgent = "kubectl-cftoken"
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	return &session{kube: c, namespace: ns}, nil
}

// listScope is the namespace a list covers: -n (or the context's), or "" for all with -A.
func (s *session) listScope(allNamespaces bool) string {
	if allNamespaces {
		return ""
	}
	return s.namespace
}
