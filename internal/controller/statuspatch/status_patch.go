// Package statuspatch is the one way the reconcilers write status: one merge patch when the pass ends.
package statuspatch

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Patch remembers an object as this pass last read or wrote it, so that one merge patch of the
// status subresource, when the pass ends, writes what changed. Both reconcilers write status only so.
type Patch struct{ base client.Object }

// New takes the base from obj as it is now.
func New(obj client.Object) *Patch {
	return &Patch{base: obj.DeepCopyObject().(client.Object)}
}

// Apply writes what changed since the base; with MergeFromWithOptimisticLock it succeeds only if nobody
// wrote the object since. The base then moves to what was written.
func (s *Patch) Apply(ctx context.Context, c client.Client, obj client.Object, opts ...client.MergeFromOption) error {
	patch := client.MergeFromWithOptions(s.base, opts...)
	if len(opts) == 0 {
		// A pass that changed nothing writes nothing: at hundreds of objects, empty patches add up.
		if data, err := patch.Data(obj); err == nil && string(data) == "{}" {
			return nil
		}
	}
	if err := c.Status().Patch(ctx, obj, patch); err != nil {
		return err
	}
	s.base = obj.DeepCopyObject().(client.Object)
	return nil
}
