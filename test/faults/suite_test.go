// Package faults_test is the fault suite of issue 6: the operator against the fake Cloudflare API on its bad
// days (crashes at every step, outages, rate limits, quotas, orphans, drift, leader changes), on a real
// kube-apiserver + etcd. Each spec starts its own fake and its own managers; the figures it measures are
// printed to GinkgoWriter and appended to bin/faults-summary.txt (FAULTS_SUMMARY overrides the path).
package faults_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil"
)

const operatorNamespace = "cloudflare-token-operator"

var (
	testEnv   *testutil.Env
	restCfg   *rest.Config
	k8sClient client.Client
	scheme    *runtime.Scheme
	suiteCtx  context.Context
	cancel    context.CancelFunc
	started   = time.Now()
)

func TestFaults(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Fault suite (real kube-apiserver, fake Cloudflare API, managers killed and restarted)")
}

var _ = BeforeSuite(func() {
	// Errors only: the suite restarts managers hundreds of times and fails calls on purpose.
	level := zapcore.ErrorLevel
	if os.Getenv("FAULTS_LOG") == "info" {
		level = zapcore.InfoLevel
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true), zap.Level(level),
		zap.StacktraceLevel(zapcore.PanicLevel)))
	suiteCtx, cancel = context.WithCancel(context.Background())
	var err error
	testEnv, err = testutil.StartEnv()
	Expect(err).NotTo(HaveOccurred())
	restCfg, scheme = testEnv.Config, testEnv.Scheme
	// The suite's own client is generous: hundreds of objects are created and read at once.
	k8sClient, err = testEnv.NewClient(testutil.QPS(500, 1000))
	Expect(err).NotTo(HaveOccurred())
	Expect(k8sClient.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})).To(Succeed())
	summary.start()
})

var _ = AfterSuite(func() {
	summary.printf("suite", "total wall time %s", time.Since(started).Round(time.Second))
	if cancel != nil {
		cancel()
	}
	Expect(testEnv.Stop()).To(Succeed())
})

// summary collects the figures each spec reports, for the note.
var summary = &summaryFile{}

type summaryFile struct {
	mu   sync.Mutex
	path string
}

func (s *summaryFile) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.path = os.Getenv("FAULTS_SUMMARY")
	if s.path == "" {
		s.path = filepath.Join(testutil.RepoRoot(), "bin", "faults-summary.txt")
	}
	_ = os.MkdirAll(filepath.Dir(s.path), 0o755)
	_ = os.WriteFile(s.path, []byte(fmt.Sprintf("# fault suite figures, %s\n", time.Now().UTC().Format(time.RFC3339))), 0o644)
}

// printf writes one figure line under a heading, to GinkgoWriter and the summary file.
func (s *summaryFile) printf(heading, format string, args ...any) {
	line := fmt.Sprintf("[%s] %s\n", heading, fmt.Sprintf(format, args...))
	_, _ = GinkgoWriter.Write([]byte(line))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path == "" {
		return
	}
	f, err := os.OpenFile(s.path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(line)
}
