package testutil

import (
	"context"
	"fmt"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/tokenoperator/cloudflare-token-operator/internal/controller"
)

// ManagerOptions are the options of an in-process manager as cmd/main.go would build them, but with no
// listener (metrics and probes off) and controller names that may repeat, since a suite starts many
// managers in one process. intercept, when not nil, is called to wrap every client the manager makes: the
// suites fail or hold its writes at chosen points.
func ManagerOptions(scheme *k8sruntime.Scheme, intercept func() interceptor.Funcs) ctrl.Options {
	opts := ctrl.Options{
		Scheme:                 scheme,
		Cache:                  controller.CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	}
	if intercept != nil {
		opts.NewClient = func(c *rest.Config, o client.Options) (client.Client, error) {
			base, err := client.NewWithWatch(c, o)
			if err != nil {
				return nil, err
			}
			return interceptor.NewClient(base, intercept()), nil
		}
	}
	return opts
}

// Manager is the operator's controllers running in-process, as one manager process would run them.
type Manager struct {
	ctrl.Manager
	ctx    context.Context // the manager's whole life, cancelled by Cancel and Stop
	cancel context.CancelFunc
	done   chan struct{}
}

// NewManager makes a manager with opts on cfg and sets the operator's controllers up on it with setup; it
// will run under ctx once started.
func NewManager(ctx context.Context, cfg *rest.Config, opts ctrl.Options, setup controller.Config) (*Manager, error) {
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("creating a manager: %w", err)
	}
	if err := controller.Setup(mgr, setup); err != nil {
		return nil, fmt.Errorf("setting up the controllers: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	return &Manager{Manager: mgr, ctx: ctx, cancel: cancel, done: make(chan struct{})}, nil
}

// StartManager is NewManager, then Run.
func StartManager(ctx context.Context, cfg *rest.Config, opts ctrl.Options, setup controller.Config, exited func(error)) (*Manager, error) {
	m, err := NewManager(ctx, cfg, opts, setup)
	if err != nil {
		return nil, err
	}
	m.Run(exited)
	return m, nil
}

// Run starts the manager in the background; exited gets what its Start returned, from the manager's
// goroutine (a Ginkgo suite defers GinkgoRecover in it to fail the spec).
func (m *Manager) Run(exited func(error)) {
	go func() {
		defer close(m.done)
		exited(m.Start(m.ctx))
	}()
}

// Cancel tells the manager to stop and returns at once; Done is closed once it has.
func (m *Manager) Cancel() { m.cancel() }

// Done is closed once the manager's Start has returned and exited has run.
func (m *Manager) Done() <-chan struct{} { return m.done }

// Stop stops the manager and waits until it is gone, as a killed process would be.
func (m *Manager) Stop() {
	m.cancel()
	<-m.done
}
