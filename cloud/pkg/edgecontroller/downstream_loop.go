package edgecontroller

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/common/message"
)

// runner is one run of downstream: its event queue, its informers and
// the loop that owns them. Only the loop goroutine touches its fields
// after run started it, except wg and events.
type runner struct {
	d   *downstream
	ctx context.Context
	// events carries every informer's notifications to the loop, each
	// informer's in the order its cache changed.
	events chan event
	// wg joins every informer and sync waiter of the run.
	wg sync.WaitGroup
	// nodesSeen collects the nodes the node informer reports before its
	// first list is handled, when the tracker kept nodes from an earlier
	// run; nil otherwise.
	nodesSeen map[string]struct{}
	// pods and objects are the running watches; an event of a watch not
	// (or no longer) here is stale and dropped.
	pods    map[string]*watcher
	objects map[objectRef]*watcher
	lastID  uint64
	// initial tracks the first load; nil once done or on a later run.
	initial *initialSync
}

func newRunner(ctx context.Context, d *downstream) *runner {
	r := &runner{
		d: d, ctx: ctx, events: make(chan event, eventQueueSize),
		pods: make(map[string]*watcher), objects: make(map[objectRef]*watcher),
	}
	if !d.isLoaded() {
		r.initial = newInitialSync(d.opts.Now())
	}
	return r
}

// push hands ev to the loop, or gives up when ctx (the informer's) ends.
func (r *runner) push(ctx context.Context, ev event) {
	select {
	case r.events <- ev:
	case <-ctx.Done():
	}
}

// resume starts the watches that what the tracker kept from an earlier
// run needs, each noting what its first list reports, so that what
// vanished meanwhile is taken back (see the sweeps).
func (r *runner) resume() {
	r.d.mu.RLock()
	nodes, refs := r.d.t.watched()
	r.d.mu.RUnlock()
	if len(nodes) > 0 {
		r.nodesSeen = make(map[string]struct{})
	}
	for _, n := range nodes {
		r.watchPods(n)
		r.pods[n].seen = make(map[string]struct{})
	}
	for _, ref := range refs {
		r.watchObject(ref)
		r.objects[ref].seen = make(map[string]struct{})
	}
}

// loop handles events one at a time until the run ends.
func (r *runner) loop() error {
	for {
		select {
		case <-r.ctx.Done():
			return nil
		case ev := <-r.events:
			if err := r.handle(ev); err != nil {
				return err
			}
		}
	}
}

// handle feeds ev to the tracker, starts and stops the watches it asks
// for, and sends its messages to the hub before the next event.
func (r *runner) handle(ev event) error {
	r.d.mu.Lock()
	e, ok := r.stepLocked(ev)
	r.d.mu.Unlock()
	if !ok {
		return nil
	}
	for _, n := range e.unwatchPods {
		r.unwatchPods(n)
	}
	for _, ref := range e.unwatch {
		r.unwatchObject(ref)
	}
	for _, n := range e.watchPods {
		r.watchPods(n)
	}
	for _, ref := range e.watch {
		r.watchObject(ref)
	}
	if err := r.send(e.sends); err != nil {
		return err
	}
	r.checkLoaded()
	return nil
}

// stepLocked applies ev to the tracker; false for a stale event.
func (r *runner) stepLocked(ev event) (effects, bool) {
	t := r.d.t
	switch ev := ev.(type) {
	case nodeEvent:
		note(r.nodesSeen, ev.name)
		if ev.gone {
			return t.removeNode(ev.name), true
		}
		return t.upsertNode(ev.node), true
	case podEvent:
		w := r.pods[ev.node]
		if !current(w, ev.watch) {
			return effects{}, false
		}
		note(w.seen, ev.namespace+"/"+ev.name)
		if ev.gone {
			return t.deletePod(ev.node, ev.namespace, ev.name), true
		}
		return t.upsertPod(ev.node, ev.pod), true
	case objectEvent:
		w := r.objects[ev.ref]
		if !current(w, ev.watch) {
			return effects{}, false
		}
		note(w.seen, ev.ref.Namespace+"/"+ev.ref.Name)
		if ev.gone {
			return t.deleteObject(ev.ref), true
		}
		return t.upsertObject(ev.ref, ev.obj), true
	case nodesSynced:
		r.initial.nodesListed()
		return r.sweepNodesLocked(), true
	case podsSynced:
		w := r.pods[ev.node]
		if !current(w, ev.watch) {
			return effects{}, false
		}
		w.synced = true
		r.initial.podsListed(ev.node)
		return r.sweepPodsLocked(ev.node, w), true
	case objectSynced:
		w := r.objects[ev.ref]
		if !current(w, ev.watch) {
			return effects{}, false
		}
		w.synced = true
		r.initial.objectDone(ev.ref)
		return r.sweepObjectLocked(ev.ref, w), true
	}
	return effects{}, false
}

func current(w *watcher, id uint64) bool { return w != nil && w.id == id }

// note adds key to seen, if seen is being collected.
func note(seen map[string]struct{}, key string) {
	if seen != nil {
		seen[key] = struct{}{}
	}
}

// The sweeps run when a watch resumed from an earlier run has handed its
// first list to the loop. What the tracker kept but neither that list nor
// any event since reported was deleted while no run watched: it is taken
// back. Everything else is up to the watch's events, which follow in
// order. A watch started by this run sweeps nothing: the tracker holds
// only what its events reported.

func (r *runner) sweepNodesLocked() effects {
	var e effects
	if r.nodesSeen == nil {
		return e
	}
	nodes, _ := r.d.t.watched()
	for _, n := range nodes {
		if _, ok := r.nodesSeen[n]; !ok {
			e.add(r.d.t.removeNode(n))
		}
	}
	r.nodesSeen = nil
	return e
}

func (r *runner) sweepPodsLocked(node string, w *watcher) effects {
	var e effects
	if w.seen == nil {
		return e
	}
	for _, p := range r.d.t.podNames(node) {
		if _, ok := w.seen[p.Namespace+"/"+p.Name]; !ok {
			e.add(r.d.t.deletePod(node, p.Namespace, p.Name))
		}
	}
	w.seen = nil
	return e
}

func (r *runner) sweepObjectLocked(ref objectRef, w *watcher) effects {
	seen := w.seen
	w.seen = nil
	if seen == nil || len(seen) > 0 {
		return effects{}
	}
	return r.d.t.deleteObject(ref)
}

func (r *runner) nextID() uint64 {
	r.lastID++
	return r.lastID
}

func (r *runner) watchPods(node string) {
	r.unwatchPods(node)
	id := r.nextID()
	r.pods[node] = startWatch(r.ctx, &r.wg, id, podListWatch(r.d.opts.Client, node), &corev1.Pod{},
		r.push, podEventOf(id, node), podsSynced{watch: id, node: node})
	r.initial.nodeWatched(node)
	r.d.log.Debug("watching pods", "node", node)
}

// unwatchPods cancels the pod watch of node; run joins it when it ends.
func (r *runner) unwatchPods(node string) {
	w := r.pods[node]
	if w == nil {
		return
	}
	w.cancel()
	delete(r.pods, node)
	r.initial.nodeLeft(node)
	r.d.log.Debug("stopped watching pods", "node", node)
}

func (r *runner) watchObject(ref objectRef) {
	r.unwatchObject(ref)
	id := r.nextID()
	lw, objType := objectListWatch(r.d.opts.Client, ref)
	r.objects[ref] = startWatch(r.ctx, &r.wg, id, lw, objType,
		r.push, objectEventOf(id, ref), objectSynced{watch: id, ref: ref})
}

// unwatchObject cancels the watch of ref; run joins it when it ends.
func (r *runner) unwatchObject(ref objectRef) {
	w := r.objects[ref]
	if w == nil {
		return
	}
	w.cancel()
	delete(r.objects, ref)
	r.initial.objectDone(ref)
}

// send puts the tracker's messages on the bus for the hub, in order. An
// object sent to several nodes in a row is encoded once.
func (r *runner) send(sends []send) error {
	var last kubeObject
	var content []byte
	for _, s := range sends {
		m := message.New(Name, r.d.opts.Hub, s.op, s.res, nil)
		if s.obj != nil {
			if s.obj != last {
				b, err := json.Marshal(s.obj)
				if err != nil { // a Kubernetes object always encodes; be loud if not
					r.d.log.Error("cannot encode an object for the edge", "resource", s.res, "err", err)
					continue
				}
				last, content = s.obj, b
			}
			m.Content = content
			m.Header.ResourceVersion = s.obj.GetResourceVersion()
		}
		if err := r.d.opts.Bus.Send(r.ctx, m); err != nil {
			if r.ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("edgecontroller: send %s %s to %s: %w", s.op, s.res, r.d.opts.Hub, err)
		}
	}
	return nil
}
