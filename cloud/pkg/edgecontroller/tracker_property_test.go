package edgecontroller

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/tether-edge/tether/common/message"
)

// The property: whatever the cluster does, and however late and
// interleaved the informers report it (each in its own order), once every
// report is in, what the tracker sent to each node adds up to that node's
// desired set computed from scratch, and the watches running are exactly
// the ones the desired sets need.

// world is the cluster: what the apiserver holds.
type world struct {
	rv    int
	nodes map[string]worldNode
	pods  map[podName]worldPod
	objs  map[objectRef]string // resourceVersion
}

type worldNode struct {
	edge bool
	rv   string
}

type worldPod struct {
	node, sa, rv string
	refs         []objectRef
}

func (w *world) nextRV() string { w.rv++; return strconv.Itoa(w.rv) }

// harness plays the informers between the world and the tracker: each
// running watch has a queue of reports, delivered later in its order.
type harness struct {
	t    *testing.T
	rng  *rand.Rand
	w    *world
	tr   *tracker
	node []func(*tracker) effects
	pods map[string][]func(*tracker) effects    // by node, while watched
	objs map[objectRef][]func(*tracker) effects // while watched
	sent map[string]map[message.Resource]string // node → key → resourceVersion
}

var (
	propNodes = []string{"n0", "n1", "n2", "n3"}
	propPods  = []string{"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"}
	propRefs  = []objectRef{cmRef("a"), cmRef("b"), cmRef("c"), secretRef("s"), secretRef("t"), secretRef("a")}
)

func TestTrackerConvergesProperty(t *testing.T) {
	seeds := 400
	if testing.Short() {
		seeds = 50
	}
	for seed := range uint64(seeds) {
		h := &harness{
			t: t, rng: rand.New(rand.NewPCG(seed, 0x7e7e)), tr: newTracker(),
			w:    &world{nodes: map[string]worldNode{}, pods: map[podName]worldPod{}, objs: map[objectRef]string{}},
			pods: map[string][]func(*tracker) effects{}, objs: map[objectRef][]func(*tracker) effects{},
			sent: map[string]map[message.Resource]string{},
		}
		for range 300 {
			if h.rng.IntN(2) == 0 {
				h.mutate()
			} else {
				h.deliverOne()
			}
		}
		for h.deliverOne() {
		}
		if err := h.check(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

// mutate changes the world at random and queues what running watches see.
func (h *harness) mutate() {
	w, r := h.w, h.rng
	switch r.IntN(6) {
	case 0, 1: // a node is created, changes, or is (un)labelled
		name := propNodes[r.IntN(len(propNodes))]
		n := worldNode{edge: r.IntN(4) != 0, rv: w.nextRV()}
		was := w.nodes[name]
		w.nodes[name] = n
		h.nodeChanged(name, was.edge, n)
	case 2: // a node is deleted
		name := propNodes[r.IntN(len(propNodes))]
		if was, ok := w.nodes[name]; ok {
			delete(w.nodes, name)
			h.nodeChanged(name, was.edge, worldNode{})
		}
	case 3: // a pod is created or changes (possibly recreated on another node)
		key := podName{"ns", propPods[r.IntN(len(propPods))]}
		p := worldPod{node: propNodes[r.IntN(len(propNodes))] + []string{"", "-cloud"}[r.IntN(2)], rv: w.nextRV(),
			sa: []string{"", "robot"}[r.IntN(2)]}
		for _, ref := range propRefs {
			if r.IntN(3) == 0 {
				p.refs = append(p.refs, ref)
			}
		}
		old, had := w.pods[key]
		w.pods[key] = p
		if had && old.node != p.node {
			h.podGone(key, old.node)
		}
		if _, watched := h.pods[p.node]; watched {
			pod := testPod(key.Namespace, key.Name, p.rv, p.sa, p.refs...)
			h.pods[p.node] = append(h.pods[p.node], func(tr *tracker) effects { return tr.upsertPod(p.node, pod) })
		}
	case 4: // a pod is deleted
		key := podName{"ns", propPods[r.IntN(len(propPods))]}
		if old, had := w.pods[key]; had {
			delete(w.pods, key)
			h.podGone(key, old.node)
		}
	case 5: // a configmap or secret is created, changes or is deleted
		ref := propRefs[r.IntN(len(propRefs))]
		if _, ok := w.objs[ref]; ok && r.IntN(3) == 0 {
			delete(w.objs, ref)
			if _, watched := h.objs[ref]; watched {
				h.objs[ref] = append(h.objs[ref], func(tr *tracker) effects { return tr.deleteObject(ref) })
			}
			return
		}
		rv := w.nextRV()
		w.objs[ref] = rv
		if _, watched := h.objs[ref]; watched {
			obj := testObject(ref, rv)
			h.objs[ref] = append(h.objs[ref], func(tr *tracker) effects { return tr.upsertObject(ref, obj) })
		}
	}
}

// nodeChanged queues what the edge-labelled node watch sees.
func (h *harness) nodeChanged(name string, wasEdge bool, now worldNode) {
	switch {
	case now.edge:
		n := testNode(name, now.rv)
		h.node = append(h.node, func(tr *tracker) effects { return tr.upsertNode(n) })
	case wasEdge:
		h.node = append(h.node, func(tr *tracker) effects { return tr.removeNode(name) })
	}
}

func (h *harness) podGone(key podName, node string) {
	if _, watched := h.pods[node]; watched {
		h.pods[node] = append(h.pods[node], func(tr *tracker) effects { return tr.deletePod(node, key.Namespace, key.Name) })
	}
}

// deliverOne hands the tracker the oldest report of a random watch that
// has one, and applies what it answers; false when no report is waiting.
func (h *harness) deliverOne() bool {
	var pops []func() func(*tracker) effects // each takes the head of one queue
	if len(h.node) > 0 {
		pops = append(pops, func() func(*tracker) effects { r := h.node[0]; h.node = h.node[1:]; return r })
	}
	for _, n := range slices.Sorted(maps.Keys(h.pods)) {
		if len(h.pods[n]) > 0 {
			pops = append(pops, func() func(*tracker) effects { r := h.pods[n][0]; h.pods[n] = h.pods[n][1:]; return r })
		}
	}
	for _, ref := range slices.SortedFunc(maps.Keys(h.objs), compareRefs) {
		if len(h.objs[ref]) > 0 {
			pops = append(pops, func() func(*tracker) effects { r := h.objs[ref][0]; h.objs[ref] = h.objs[ref][1:]; return r })
		}
	}
	if len(pops) == 0 {
		return false
	}
	report := pops[h.rng.IntN(len(pops))]()
	h.apply(report(h.tr))
	return true
}

// apply records the sends and starts or stops watches: a watch starts by
// listing the world, a stopped watch's undelivered reports are dropped
// (the shell ignores a stopped watch's events).
func (h *harness) apply(e effects) {
	for _, s := range e.sends {
		h.record(s)
	}
	for _, n := range e.watchPods {
		if _, ok := h.pods[n]; ok {
			h.t.Fatalf("pods of %s watched twice", n)
		}
		var q []func(*tracker) effects
		for _, key := range slices.SortedFunc(maps.Keys(h.w.pods), comparePodNames) {
			if p := h.w.pods[key]; p.node == n {
				pod := testPod(key.Namespace, key.Name, p.rv, p.sa, p.refs...)
				q = append(q, func(tr *tracker) effects { return tr.upsertPod(n, pod) })
			}
		}
		h.pods[n] = q
	}
	for _, n := range e.unwatchPods {
		if _, ok := h.pods[n]; !ok {
			h.t.Fatalf("pods of %s unwatched but not watched", n)
		}
		delete(h.pods, n)
	}
	for _, ref := range e.watch {
		if _, ok := h.objs[ref]; ok {
			h.t.Fatalf("%v watched twice", ref)
		}
		h.objs[ref] = nil
		if rv, ok := h.w.objs[ref]; ok {
			obj := testObject(ref, rv)
			h.objs[ref] = append(h.objs[ref], func(tr *tracker) effects { return tr.upsertObject(ref, obj) })
		}
	}
	for _, ref := range e.unwatch {
		if _, ok := h.objs[ref]; !ok {
			h.t.Fatalf("%v unwatched but not watched", ref)
		}
		delete(h.objs, ref)
	}
}

// record applies one send to the node's set as the hub would, checking
// that inserts add, and updates and deletes touch, a key the node has.
func (h *harness) record(s send) {
	set := h.sent[s.res.Node]
	if set == nil {
		set = map[message.Resource]string{}
		h.sent[s.res.Node] = set
	}
	key := s.res.WithoutNode()
	_, has := set[key]
	switch {
	case s.op == message.OpInsert && has, s.op != message.OpInsert && !has:
		h.t.Fatalf("%s %s: the node has it: %v", s.op, s.res, has)
	case s.op == message.OpDelete:
		delete(set, key)
	default:
		set[key] = s.obj.GetResourceVersion()
	}
}

// desired computes every node's desired set from the world alone.
func (h *harness) desired() map[string]map[message.Resource]string {
	want := map[string]map[message.Resource]string{}
	for name, n := range h.w.nodes {
		if !n.edge {
			continue
		}
		set := map[message.Resource]string{nodeKey(name).WithoutNode(): n.rv}
		for key, p := range h.w.pods {
			if p.node != name {
				continue
			}
			set[podKey(name, key).WithoutNode()] = p.rv
			for _, ref := range p.refs {
				if rv, ok := h.w.objs[ref]; ok {
					set[refKey(name, ref).WithoutNode()] = rv
				}
			}
		}
		want[name] = set
	}
	return want
}

func (h *harness) check() error {
	want := h.desired()
	for node := range h.sent {
		if len(h.sent[node]) == 0 {
			delete(h.sent, node)
		}
	}
	if !maps.EqualFunc(h.sent, want, maps.Equal) {
		return fmt.Errorf("sent sets differ from desired sets:\n sent %v\ndesired %v", h.sent, want)
	}
	wantRefs := map[objectRef]bool{}
	for _, p := range h.w.pods {
		if h.w.nodes[p.node].edge {
			for _, ref := range p.refs {
				wantRefs[ref] = true
			}
		}
	}
	nodes, refs := h.tr.watched()
	if !slices.Equal(nodes, slices.Sorted(maps.Keys(want))) || !slices.Equal(nodes, slices.Sorted(maps.Keys(h.pods))) {
		return fmt.Errorf("pod watches: tracker %v, harness %v, edge nodes %v", nodes, slices.Sorted(maps.Keys(h.pods)), slices.Sorted(maps.Keys(want)))
	}
	if !slices.Equal(refs, slices.SortedFunc(maps.Keys(wantRefs), compareRefs)) || len(refs) != len(h.objs) {
		return fmt.Errorf("object watches: tracker %v, needed %v, running %d", refs, wantRefs, len(h.objs))
	}
	for key, p := range h.w.pods {
		sa := objectRef{Kind: kindServiceAccount, Namespace: key.Namespace, Name: "default"}
		if p.sa != "" {
			sa.Name = p.sa
		}
		if h.w.nodes[p.node].edge && !h.tr.uses(p.node, sa) {
			return fmt.Errorf("uses(%s, %v) = false", p.node, sa)
		}
	}
	return nil
}
