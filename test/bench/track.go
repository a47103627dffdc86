package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// goal is what one CloudflareToken must reach: Ready, its Secret written with the status' token, and for a
// rotation the rotate value handled, a new token id and nothing left retiring.
type goal struct {
	start  time.Time
	rotate string // "" for a first mint
	oldID  string
	doneAt time.Time
}

// tracker watches the bench namespace's CloudflareTokens and the operator's Secrets (by label, as the
// operator's own cache does) and stamps the moment each goal is first seen met.
type tracker struct {
	cache cache.Cache

	mu      sync.Mutex
	tokens  map[string]*cfv1.CloudflareToken
	secrets map[string]*corev1.Secret
	goals   map[string]*goal
}

func newTracker(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, namespace string) (*tracker, error) {
	c, err := cache.New(cfg, cache.Options{
		Scheme:            scheme,
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{cfv1.LabelManagedBy: cfv1.ManagedByValue})},
		},
	})
	if err != nil {
		return nil, err
	}
	t := &tracker{cache: c, tokens: map[string]*cfv1.CloudflareToken{}, secrets: map[string]*corev1.Secret{},
		goals: map[string]*goal{}}
	tokInf, err := c.GetInformer(ctx, &cfv1.CloudflareToken{})
	if err != nil {
		return nil, err
	}
	secInf, err := c.GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return nil, err
	}
	onToken := func(obj any) {
		if tok, ok := obj.(*cfv1.CloudflareToken); ok {
			t.mu.Lock()
			t.tokens[tok.Name] = tok
			t.check(tok.Name, time.Now())
			t.mu.Unlock()
		}
	}
	onSecret := func(obj any) {
		if s, ok := obj.(*corev1.Secret); ok {
			t.mu.Lock()
			t.secrets[s.Name] = s
			t.check(s.Name, time.Now())
			t.mu.Unlock()
		}
	}
	if _, err := tokInf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: onToken, UpdateFunc: func(_, n any) { onToken(n) },
		DeleteFunc: func(obj any) {
			if tok, ok := obj.(*cfv1.CloudflareToken); ok {
				t.mu.Lock()
				delete(t.tokens, tok.Name)
				t.mu.Unlock()
			}
		},
	}); err != nil {
		return nil, err
	}
	if _, err := secInf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: onSecret, UpdateFunc: func(_, n any) { onSecret(n) },
		DeleteFunc: func(obj any) {
			if s, ok := obj.(*corev1.Secret); ok {
				t.mu.Lock()
				delete(t.secrets, s.Name)
				t.mu.Unlock()
			}
		},
	}); err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the tracker's cache did not sync")
	}
	return t, nil
}

// expect registers a goal for token name, started at start.
func (t *tracker) expect(name string, g goal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	gg := g
	t.goals[name] = &gg
	t.check(name, time.Now())
}

// tokenID is the status' current token id, as last seen.
func (t *tracker) tokenID(name string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tok := t.tokens[name]; tok != nil {
		return tok.Status.TokenID
	}
	return ""
}

// check stamps the goal of name if it is met now. Callers hold t.mu.
func (t *tracker) check(name string, now time.Time) {
	g := t.goals[name]
	if g == nil || !g.doneAt.IsZero() {
		return
	}
	tok, sec := t.tokens[name], t.secrets[name]
	if tok == nil || sec == nil {
		return
	}
	st := tok.Status
	if !meta.IsStatusConditionTrue(st.Conditions, cfv1.ConditionReady) || st.TokenID == "" {
		return
	}
	if sec.Annotations[cfv1.AnnotationTokenID] != st.TokenID || len(sec.Data[cfv1.DefaultSecretKey]) == 0 {
		return
	}
	if g.rotate != "" && (st.LastRotateRequest != g.rotate || st.TokenID == g.oldID || len(st.RetiringTokens) > 0) {
		return
	}
	g.doneAt = now
}

// wait returns the goals' durations once all are met, or an error naming how many are not after timeout.
func (t *tracker) wait(ctx context.Context, names []string, timeout time.Duration) (
	durations []time.Duration, first, last time.Time, err error) {
	deadline := time.Now().Add(timeout)
	for {
		t.mu.Lock()
		pending := 0
		for _, n := range names {
			if g := t.goals[n]; g == nil || g.doneAt.IsZero() {
				pending++
			}
		}
		if pending == 0 {
			durations = make([]time.Duration, 0, len(names))
			for i, n := range names {
				g := t.goals[n]
				durations = append(durations, g.doneAt.Sub(g.start))
				if i == 0 || g.start.Before(first) {
					first = g.start
				}
				if g.doneAt.After(last) {
					last = g.doneAt
				}
			}
			t.mu.Unlock()
			sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
			return durations, first, last, nil
		}
		example := ""
		for _, n := range names {
			if g := t.goals[n]; g == nil || g.doneAt.IsZero() {
				example = n
				if tok := t.tokens[n]; tok != nil {
					if c := meta.FindStatusCondition(tok.Status.Conditions, cfv1.ConditionReady); c != nil {
						example += fmt.Sprintf(" (Ready=%s %s: %s)", c.Status, c.Reason, c.Message)
					}
				}
				break
			}
		}
		t.mu.Unlock()
		if time.Now().After(deadline) {
			return nil, first, last, fmt.Errorf("%d of %d not done after %s, e.g. %s", pending, len(names), timeout, example)
		}
		select {
		case <-ctx.Done():
			return nil, first, last, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}
