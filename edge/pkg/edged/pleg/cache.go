package pleg

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// Cache holds, per pod, the latest inspected runstate.Pod and how fresh it
// is. PLEG writes it on every relist; pod workers read it. All methods are
// safe for concurrent use. The pods it returns are shared: read them, never
// modify them.
type Cache struct {
	mu sync.Mutex
	// Guarded by mu:
	pods map[types.UID]cacheEntry
	// timestamp: every pod not marked stale, present or absent, is
	// current as of this time (the start of the last successful relist).
	timestamp time.Time
	// changed is closed and replaced on every update, waking waiters.
	changed chan struct{}
}

type cacheEntry struct {
	pod *runstate.Pod // nil: not known yet (inspection failed)
	// asOf: pod is known current as of this time: the relist that
	// stored it, or for a stale entry the last relist that vouched for it.
	asOf time.Time
	// stale: the last relist could not inspect the pod, so timestamp
	// does not cover it; only asOf does.
	stale bool
}

func newCache() *Cache {
	return &Cache{pods: make(map[types.UID]cacheEntry), changed: make(chan struct{})}
}

// Get returns the pod's latest state, the time that state is known to be
// current at, and whether the runtime holds anything of the pod. For a pod
// the runtime does not hold it returns (nil, time of the last relist,
// false); before the first relist the time is zero.
func (c *Cache) Get(uid types.UID) (*runstate.Pod, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getLocked(uid)
}

func (c *Cache) getLocked(uid types.UID) (*runstate.Pod, time.Time, bool) {
	e, ok := c.pods[uid]
	if !ok {
		return nil, c.timestamp, false
	}
	fresh := e.asOf
	if !e.stale && c.timestamp.After(fresh) {
		fresh = c.timestamp
	}
	return e.pod, fresh, e.pod != nil
}

// WaitNewer waits until the pod's state in the cache is known to be current
// at a time after t, then returns it as Get does. A pod worker that acted
// on the runtime at t calls it so that it decides from a relist that
// started after its action, not from older state. It returns ctx's error
// if ctx ends first.
func (c *Cache) WaitNewer(ctx context.Context, uid types.UID, t time.Time) (*runstate.Pod, time.Time, bool, error) {
	for {
		c.mu.Lock()
		pod, fresh, ok := c.getLocked(uid)
		changed := c.changed
		c.mu.Unlock()
		if fresh.After(t) {
			return pod, fresh, ok, nil
		}
		select {
		case <-ctx.Done():
			return nil, time.Time{}, false, ctx.Err()
		case <-changed:
		}
	}
}

// cacheUpdate is what one relist changes in the cache.
type cacheUpdate struct {
	at      time.Time                   // the relist's start
	set     map[types.UID]*runstate.Pod // inspected pods
	removed []types.UID                 // pods the runtime no longer holds
	stale   map[types.UID]struct{}      // pods whose inspection failed
}

func (c *Cache) apply(u cacheUpdate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for uid, pod := range u.set {
		c.pods[uid] = cacheEntry{pod: pod, asOf: u.at}
	}
	for _, uid := range u.removed {
		delete(c.pods, uid)
	}
	for uid := range u.stale {
		e := c.pods[uid]
		if !e.stale && e.pod != nil && c.timestamp.After(e.asOf) {
			e.asOf = c.timestamp // the last relist still vouched for it
		}
		e.stale = true
		c.pods[uid] = e
	}
	c.timestamp = u.at
	close(c.changed)
	c.changed = make(chan struct{})
}

// has reports whether the cache holds an inspected state of the pod.
func (c *Cache) has(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.pods[uid]
	return ok && e.pod != nil && !e.stale
}
