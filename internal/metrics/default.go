package metrics

import (
	"sync"

	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	defaultOnce     sync.Once
	defaultRecorder *Recorder
	defaultErr      error
)

// Default is the Recorder registered in controller-runtime's metrics.Registry, served on the manager's
// metrics endpoint. It is created on the first call; later calls return the same one.
func Default() (*Recorder, error) {
	defaultOnce.Do(func() { defaultRecorder, defaultErr = New(ctrlmetrics.Registry) })
	return defaultRecorder, defaultErr
}
