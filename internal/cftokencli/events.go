package cftokencli

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// maxEvents is how many of the latest events the story shows.
const maxEvents = 10

type eventRow struct {
	Time    metav1.Time `json:"time"`
	Type    string      `json:"type"`
	Reason  string      `json:"reason"`
	Message string      `json:"message"`
	Count   int32       `json:"count,omitempty"`
}

// eventsOf reads the latest events about one object, oldest first. The operator records them through
// events.k8s.io/v1; the core/v1 view of the same events can be selected by the object's UID.
func (s *session) eventsOf(ctx context.Context, ns string, uid types.UID) ([]eventRow, error) {
	list := &corev1.EventList{}
	if err := s.kube.List(ctx, list, client.InNamespace(ns), client.MatchingFields{"involvedObject.uid": string(uid)}); err != nil {
		return nil, fmt.Errorf("listing events in namespace %s: %w", ns, err)
	}
	out := make([]eventRow, 0, len(list.Items))
	for _, e := range list.Items {
		out = append(out, eventRow{Time: eventTime(&e), Type: e.Type, Reason: e.Reason, Message: e.Message, Count: e.Count})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(&out[j].Time) })
	if len(out) > maxEvents {
		out = out[len(out)-maxEvents:]
	}
	return out, nil
}

// eventTime is when an event last happened, whichever API recorded it.
func eventTime(e *corev1.Event) metav1.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return metav1.NewTime(e.Series.LastObservedTime.Time)
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp
	case !e.EventTime.IsZero():
		return metav1.NewTime(e.EventTime.Time)
	}
	return e.CreationTimestamp
}
