package pleg

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

func TestCacheGet(t *testing.T) {
	c := newCache()
	if p, fresh, ok := c.Get("a"); p != nil || ok || !fresh.IsZero() {
		t.Errorf("empty cache: %v %v %v", p, fresh, ok)
	}
	t0 := time.Unix(100, 0)
	a := pod("a", ctr{"c1", running})
	c.apply(cacheUpdate{at: t0, set: map[types.UID]*runstate.Pod{"a": a}})
	if p, fresh, ok := c.Get("a"); p != a || !ok || !fresh.Equal(t0) {
		t.Errorf("after set: %v %v %v", p, fresh, ok)
	}

	// A later relist with no change to a still vouches for it; b is new
	// but its inspection failed: unknown, and not vouched for.
	t1 := t0.Add(time.Second)
	c.apply(cacheUpdate{at: t1, stale: map[types.UID]struct{}{"b": {}}})
	if p, fresh, ok := c.Get("a"); p != a || !ok || !fresh.Equal(t1) {
		t.Errorf("a after an unchanged relist: %v %v %v", p, fresh, ok)
	}
	if p, fresh, ok := c.Get("b"); p != nil || ok || !fresh.IsZero() {
		t.Errorf("b not inspected yet: %v %v %v", p, fresh, ok)
	}

	// a's inspection fails: its entry stays, fresh at t1 only.
	t2 := t1.Add(time.Second)
	c.apply(cacheUpdate{at: t2, stale: map[types.UID]struct{}{"a": {}, "b": {}}})
	if p, fresh, ok := c.Get("a"); p != a || !ok || !fresh.Equal(t1) {
		t.Errorf("a stale: %v %v %v", p, fresh, ok)
	}

	// a is removed: absent as of t3.
	t3 := t2.Add(time.Second)
	c.apply(cacheUpdate{at: t3, removed: []types.UID{"a"}})
	if p, fresh, ok := c.Get("a"); p != nil || ok || !fresh.Equal(t3) {
		t.Errorf("a removed: %v %v %v", p, fresh, ok)
	}
}

func TestCacheWaitNewer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCache()
		t0 := time.Now()
		a := pod("a", ctr{"c1", running})
		c.apply(cacheUpdate{at: t0, set: map[types.UID]*runstate.Pod{"a": a}})

		// Already newer: returns at once.
		if p, _, ok, err := c.WaitNewer(t.Context(), "a", t0.Add(-1)); p != a || !ok || err != nil {
			t.Errorf("WaitNewer on fresh state: %v %v %v", p, ok, err)
		}

		// Not newer: waits, through updates that do not cover a, until one does.
		done := make(chan error, 1)
		go func() {
			_, _, _, err := c.WaitNewer(t.Context(), "a", t0)
			done <- err
		}()
		time.Sleep(time.Second)
		c.apply(cacheUpdate{at: time.Now(), stale: map[types.UID]struct{}{"a": {}}})
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("WaitNewer returned on an update that did not refresh the pod: %v", err)
		default:
		}
		// A stale pod stays stale until PLEG inspects it again.
		time.Sleep(time.Second)
		c.apply(cacheUpdate{at: time.Now()})
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("WaitNewer returned for a pod still stale: %v", err)
		default:
		}
		c.apply(cacheUpdate{at: time.Now(), set: map[types.UID]*runstate.Pod{"a": a}})
		if err := <-done; err != nil {
			t.Error(err)
		}

		// Context ends first.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, _, _, err := c.WaitNewer(ctx, "a", time.Now()); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WaitNewer with an ending context: %v", err)
		}
	})
}
