// Package window counts requests in sliding windows, as Cloudflare's rate limit counts them (1200 requests per
// 5 minutes per credential): the fake, the fault suite and the benchmark all ask "most requests in any
// window", and must ask it the same way. It has no dependencies, so that the fake can use it.
package window

import (
	"slices"
	"time"
)

// MaxIn is the most of times that fall in any half-open window [t, t+width): two requests exactly width apart
// are in different windows. times need not be sorted; the slice is not changed.
func MaxIn(times []time.Time, width time.Duration) int {
	sorted := slices.Clone(times)
	slices.SortFunc(sorted, func(a, b time.Time) int { return a.Compare(b) })
	best, lo := 0, 0
	for hi := range sorted {
		for sorted[hi].Sub(sorted[lo]) >= width {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// MaxInBy is MaxIn for each key (a credential, an account) of the items.
func MaxInBy[T any](items []T, width time.Duration, key func(T) string, at func(T) time.Time) map[string]int {
	byKey := map[string][]time.Time{}
	for _, it := range items {
		byKey[key(it)] = append(byKey[key(it)], at(it))
	}
	out := make(map[string]int, len(byKey))
	for k, times := range byKey {
		out[k] = MaxIn(times, width)
	}
	return out
}
