package controller_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller"
	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

const (
	operatorNamespace = "cloudflare-token-operator"
	clusterName       = "envtest-cluster"
	issuerName        = "cloudflare"
	driftInterval     = 2 * time.Second
	orphanGrace       = time.Second
)

var (
	testEnv   *testutil.Env
	cfg       *rest.Config
	k8sClient client.Client
	scheme    *runtime.Scheme
	fake      *cloudflaretest.Server
	suiteCtx  context.Context
	cancel    context.CancelFunc
	logs      = &syncBuffer{}

	// interceptMu guards intercept, which tests set to make the manager's writes fail at chosen points.
	interceptMu sync.Mutex
	intercept   interceptor.Funcs
)

func TestController(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller suite (real kube-apiserver, fake Cloudflare API)")
}

var _ = BeforeSuite(func() {
	ctrl.SetLogger(zap.New(zap.WriteTo(logs), zap.UseDevMode(true)))
	suiteCtx, cancel = context.WithCancel(context.Background())
	var err error
	testEnv, err = testutil.StartEnv()
	Expect(err).NotTo(HaveOccurred())
	cfg, scheme, k8sClient = testEnv.Config, testEnv.Scheme, testEnv.Client
	// Registered here so that kube-apiserver and etcd stop even when an AfterSuite assertion fails.
	DeferCleanup(func() {
		stopSuiteManager()
		cancel()
		Expect(testEnv.Stop()).To(Succeed())
	})

	fake = cloudflaretest.NewServer()
	DeferCleanup(fake.Close)

	Expect(k8sClient.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})).To(Succeed())
	createParentSecret("cf-parent", fake.UserParentToken())
	Expect(k8sClient.Create(suiteCtx, testutil.OpenClusterIssuer(issuerName, "cf-parent", fake.AccountID(), ""))).To(Succeed())
	stopManager = startManager()
	DeferCleanup(func() { stopSuiteManager() })
	waitIssuerReady(issuerName)
})

var _ = AfterSuite(func() {
	// After every spec, so that it searches everything the suite made the operator say.
	if fake != nil && k8sClient != nil {
		By("searching logs, events and status for every token value the fake minted")
		checkNoLeaks()
	}
})

func createParentSecret(name, value string) {
	Expect(k8sClient.Create(suiteCtx, testutil.ParentSecret(operatorNamespace, name, value))).To(Succeed())
}

// startManager runs the operator's controllers as cmd/main.go wires them, and returns a stop function that
// waits until the manager is gone, as a killed process would be.
func startManager() func() {
	opts := testutil.ManagerOptions(scheme, func() interceptor.Funcs {
		return interceptor.Funcs{
			SubResourcePatch: func(ctx context.Context, cl client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
				interceptMu.Lock()
				f := intercept.SubResourcePatch
				interceptMu.Unlock()
				if f != nil {
					return f(ctx, cl, sub, obj, p, opts...)
				}
				return cl.SubResource(sub).Patch(ctx, obj, p, opts...)
			},
		}
	})
	mgr, err := testutil.StartManager(suiteCtx, cfg, opts, controller.Config{
		CloudflareAPIURL:  fake.URL(),
		ClusterName:       clusterName,
		OperatorNamespace: operatorNamespace,
		APIRequestsPer5m:  1000,
		DriftInterval:     driftInterval,
		OrphanGrace:       orphanGrace,
		Observer:          suiteMetrics(),
		Metrics:           suiteMetrics(),
	}, func(err error) {
		defer GinkgoRecover()
		Expect(err).To(Succeed())
	})
	Expect(err).NotTo(HaveOccurred())
	return mgr.Stop
}

var stopManager func()

// stopSuiteManager stops the running manager, as a killed process would stop.
func stopSuiteManager() {
	if stopManager != nil {
		stopManager()
		stopManager = nil
	}
}

// restartSuiteManager starts a new manager, with empty caches and memory, like a restarted pod.
func restartSuiteManager() { stopManager = startManager() }

func setIntercept(f interceptor.Funcs) {
	interceptMu.Lock()
	defer interceptMu.Unlock()
	intercept = f
}

// syncBuffer collects the manager's log output for the leak check.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, _ = GinkgoWriter.Write(p)
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
