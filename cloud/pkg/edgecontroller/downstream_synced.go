package edgecontroller

import "time"

// initialSync follows the first load of a run that starts before synced
// is closed. The load is done once
//
//  1. the node informer has handed over its first list,
//  2. the pod watch of every edge node of that list (still an edge node)
//     has handed over its first list, and then
//  3. every object watch those nodes' pods need has handed over its first
//     list,
//
// each followed by the loop sending what it caused: a list is followed by
// its watch's synced event in the queue. Nodes and references appearing
// after their list are changes, not the load, and do not delay it.
//
// Its methods do nothing on a nil *initialSync (no load to follow).
type initialSync struct {
	start time.Time
	// listed is set once the node informer's first list is handled.
	listed bool
	// nodes are the edge nodes of that list still present; unlisted those
	// of them whose pods' first list is not handled yet.
	nodes, unlisted map[string]struct{}
	// objects are the object watches step 3 waits for; nil before step 3.
	objects map[objectRef]struct{}
}

func newInitialSync(start time.Time) *initialSync {
	return &initialSync{start: start, nodes: make(map[string]struct{}), unlisted: make(map[string]struct{})}
}

// nodeWatched: a pod watch started for node; before the node list is
// handled, node belongs to it.
func (s *initialSync) nodeWatched(node string) {
	if s == nil || s.listed {
		return
	}
	s.nodes[node] = struct{}{}
	s.unlisted[node] = struct{}{}
}

// nodeLeft: node's pod watch stopped; it is no longer waited for.
func (s *initialSync) nodeLeft(node string) {
	if s == nil {
		return
	}
	delete(s.nodes, node)
	delete(s.unlisted, node)
}

func (s *initialSync) nodesListed() {
	if s != nil {
		s.listed = true
	}
}

func (s *initialSync) podsListed(node string) {
	if s != nil {
		delete(s.unlisted, node)
	}
}

// objectDone: ref's watch handed over its first list, or stopped.
func (s *initialSync) objectDone(ref objectRef) {
	if s != nil {
		delete(s.objects, ref)
	}
}

// checkLoaded closes synced when the first load is done (see initialSync).
func (r *runner) checkLoaded() {
	s := r.initial
	if s == nil || !s.listed || len(s.unlisted) > 0 {
		return
	}
	if s.objects == nil { // step 3 starts: what the nodes' pods need now
		s.objects = make(map[objectRef]struct{})
		r.d.mu.RLock()
		for n := range s.nodes {
			for _, ref := range r.d.t.refsOf(n) {
				if w := r.objects[ref]; w != nil && !w.synced {
					s.objects[ref] = struct{}{}
				}
			}
		}
		r.d.mu.RUnlock()
	}
	if len(s.objects) > 0 {
		return
	}
	r.initial = nil
	r.d.mu.RLock()
	nodes, pods, objects := r.d.t.counts()
	r.d.mu.RUnlock()
	r.d.markLoaded()
	r.d.log.Info("desired sets loaded", "nodes", nodes, "pods", pods, "objects", objects,
		"took", r.d.opts.Now().Sub(s.start).Round(time.Millisecond))
}
