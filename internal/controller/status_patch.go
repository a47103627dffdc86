package controller

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// statusPatch remembers an object as this pass last read or wrote it, so that one merge patch of the
// status subresource, when the pass ends, writes what changed. Both reconcilers write status only so.
type statusPatch struct{ base client.Object }

func newStatusPatch(obj client.Object) *statusPatch {
	return &statusPatch{base: obj.DeepCopyObject().(client.Object)}
}

// apply writes what changed since the base; with MergeFromWithOptimisticLock it succeeds only if nobody
// wrote the object since. The base then moves to what was written.
func (s *statusPatch) apply(ctx context.Context, c client.Client, obj client.Object, opts ...client.MergeFromOption) error {
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
