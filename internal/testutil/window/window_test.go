package window_test

import (
	"testing"
	"time"

	"github.com/tokenoperator/cloudflare-token-operator/internal/testutil/window"
)

func TestMaxIn(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(secs ...int) []time.Time {
		out := make([]time.Time, 0, len(secs))
		for _, s := range secs {
			out = append(out, t0.Add(time.Duration(s)*time.Second))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		times []time.Time
		width time.Duration
		want  int
	}{
		{"none", nil, time.Minute, 0},
		{"one", at(5), time.Minute, 1},
		{"all inside one window", at(0, 10, 59), time.Minute, 3},
		{"exactly a width apart are two windows", at(0, 60), time.Minute, 1},
		{"just inside the width", at(0, 59, 60), time.Minute, 2},
		{"the busiest window is in the middle", at(0, 100, 101, 102, 159, 200), time.Minute, 4},
		{"unsorted input", at(102, 0, 159, 101, 200, 100), time.Minute, 4},
		{"same instant counts every request", at(7, 7, 7), time.Second, 3},
		{"Cloudflare's 5 minutes", at(0, 299, 300, 301, 599), 5 * time.Minute, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := append([]time.Time(nil), tc.times...)
			if got := window.MaxIn(tc.times, tc.width); got != tc.want {
				t.Errorf("MaxIn(%v, %s) = %d, want %d", tc.times, tc.width, got, tc.want)
			}
			for i := range before {
				if !before[i].Equal(tc.times[i]) {
					t.Fatalf("MaxIn reordered its input")
				}
			}
		})
	}
}

func TestMaxInBy(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type req struct {
		cred string
		at   time.Duration
	}
	reqs := []req{{"a", 0}, {"b", 1 * time.Second}, {"a", 2 * time.Second}, {"a", 70 * time.Second}, {"b", 200 * time.Second}}
	got := window.MaxInBy(reqs, time.Minute, func(r req) string { return r.cred }, func(r req) time.Time { return t0.Add(r.at) })
	if len(got) != 2 || got["a"] != 2 || got["b"] != 1 {
		t.Errorf("MaxInBy = %v, want map[a:2 b:1]", got)
	}
}
