package edgecontroller

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
)

// kubeObject is an object the edge is sent: a Node, a Pod, a ConfigMap or
// a Secret, as the informers deliver it (never changed once delivered).
type kubeObject interface {
	runtime.Object
	metav1.Object
}

// tracker is the pure core of the downstream half: from what the informers
// report (edge nodes, the pods bound to them, the configmaps and secrets
// those pods use) it decides what to put in or take out of each node's
// desired set in the hub, and which object watches must run. It does no
// I/O and is not safe for concurrent use; downstream guards it.
//
// Its invariants, after every call:
//   - nodes holds every edge node reported and not removed since;
//   - a node's uses counts, per ref, how many of its pods use it;
//   - objects holds exactly the sendable refs some edge node uses, with
//     the set of those nodes; a ref enters objects (watch) when its first
//     node starts using it and leaves (unwatch) when its last one stops;
//   - what has been sent to node N, applied in order, is N's Node, its
//     pods, and the known objects its pods use: its desired set.
type tracker struct {
	// nodes are the edge nodes, by name.
	nodes map[string]*edgeNode
	// objects are the configmaps and secrets edge pods use.
	objects map[objectRef]*usedObject
}

// edgeNode is what the tracker knows of one edge node.
type edgeNode struct {
	node *corev1.Node
	pods map[podName]podEntry
	// uses counts the node's pods using each ref (service accounts too).
	uses map[objectRef]int
}

type podName struct{ Namespace, Name string }

type podEntry struct {
	pod  *corev1.Pod
	refs []objectRef // podUses(pod)
}

// usedObject is a configmap or secret some edge pod uses.
type usedObject struct {
	// users are the nodes whose pods use it.
	users map[string]struct{}
	// obj is its latest version; nil while its watch has not reported it,
	// or after it was deleted.
	obj kubeObject
}

// effects is what one tracker step asks of the shell: messages for the
// hub, in order, and watches to start and stop.
type effects struct {
	sends []send
	// watchPods and unwatchPods name nodes whose pod watch starts or stops.
	watchPods, unwatchPods []string
	// watch and unwatch name the configmaps and secrets whose watch
	// starts or stops.
	watch, unwatch []objectRef
}

// send is one message for the hub.
type send struct {
	op message.Operation
	// res is in cloud form: Node is the edge node whose set changes.
	res message.Resource
	// obj is what an insert or update carries; nil for a delete.
	obj kubeObject
}

// add appends o's sends and watch changes after e's.
func (e *effects) add(o effects) {
	e.sends = append(e.sends, o.sends...)
	e.watchPods = append(e.watchPods, o.watchPods...)
	e.unwatchPods = append(e.unwatchPods, o.unwatchPods...)
	e.watch = append(e.watch, o.watch...)
	e.unwatch = append(e.unwatch, o.unwatch...)
}

func newTracker() *tracker {
	return &tracker{nodes: make(map[string]*edgeNode), objects: make(map[objectRef]*usedObject)}
}

// Keys, in their edge form plus the node.

func nodeKey(name string) message.Resource {
	return message.Resource{Node: name, Type: kubemsg.TypeNode, Name: name}
}

func podKey(node string, p podName) message.Resource {
	return message.Resource{Node: node, Namespace: p.Namespace, Type: kubemsg.TypePod, Name: p.Name}
}

func refKey(node string, ref objectRef) message.Resource {
	return message.Resource{Node: node, Namespace: ref.Namespace, Type: ref.Kind, Name: ref.Name}
}

func (e *effects) upsert(res message.Resource, obj kubeObject, isNew bool) {
	op := message.OpUpdate
	if isNew {
		op = message.OpInsert
	}
	e.sends = append(e.sends, send{op: op, res: res, obj: obj})
}

func (e *effects) remove(res message.Resource) {
	e.sends = append(e.sends, send{op: message.OpDelete, res: res})
}

// sameVersion reports whether b is the version of the object a already is.
func sameVersion(a, b metav1.Object) bool {
	return a.GetResourceVersion() != "" && a.GetResourceVersion() == b.GetResourceVersion()
}

// upsertNode records an edge node, new or changed.
func (t *tracker) upsertNode(n *corev1.Node) effects {
	var e effects
	if en := t.nodes[n.Name]; en != nil {
		if !sameVersion(en.node, n) {
			en.node = n
			e.upsert(nodeKey(n.Name), n, false)
		}
		return e
	}
	t.nodes[n.Name] = &edgeNode{node: n, pods: make(map[podName]podEntry), uses: make(map[objectRef]int)}
	e.upsert(nodeKey(n.Name), n, true)
	e.watchPods = append(e.watchPods, n.Name)
	return e
}

// removeNode forgets a node that was deleted or is no longer an edge
// node: everything it had leaves its set, and it releases what it used.
func (t *tracker) removeNode(name string) effects {
	var e effects
	en := t.nodes[name]
	if en == nil {
		return e
	}
	delete(t.nodes, name)
	for _, p := range sortedKeys(en.pods, comparePodNames) {
		e.remove(podKey(name, p))
	}
	for _, ref := range sortedKeys(en.uses, compareRefs) {
		t.releaseAll(name, ref, &e)
	}
	e.remove(nodeKey(name))
	e.unwatchPods = append(e.unwatchPods, name)
	return e
}

// upsertPod records a pod bound to node, new or changed. A pod of a node
// the tracker does not hold is ignored.
func (t *tracker) upsertPod(node string, p *corev1.Pod) effects {
	var e effects
	en := t.nodes[node]
	if en == nil {
		return e
	}
	key := podName{p.Namespace, p.Name}
	old, had := en.pods[key]
	if had && sameVersion(old.pod, p) {
		return e
	}
	refs := podUses(p)
	en.pods[key] = podEntry{pod: p, refs: refs}
	// Acquire the new refs before releasing the old ones, so a ref in both
	// never drops to zero in between; objects go before the pod that uses them.
	for _, ref := range refs {
		t.acquire(node, en, ref, &e)
	}
	e.upsert(podKey(node, key), p, !had)
	for _, ref := range old.refs {
		t.release(node, en, ref, &e)
	}
	return e
}

// deletePod forgets a pod of node: it was deleted, or left the node.
func (t *tracker) deletePod(node, namespace, name string) effects {
	var e effects
	en := t.nodes[node]
	if en == nil {
		return e
	}
	key := podName{namespace, name}
	old, had := en.pods[key]
	if !had {
		return e
	}
	delete(en.pods, key)
	e.remove(podKey(node, key))
	for _, ref := range old.refs {
		t.release(node, en, ref, &e)
	}
	return e
}

// upsertObject records the latest version of a watched configmap or
// secret; one no edge pod uses is ignored.
func (t *tracker) upsertObject(ref objectRef, obj kubeObject) effects {
	var e effects
	o := t.objects[ref]
	if o == nil || (o.obj != nil && sameVersion(o.obj, obj)) {
		return e
	}
	isNew := o.obj == nil
	o.obj = obj
	for _, node := range sortedKeys(o.users, cmp.Compare) {
		e.upsert(refKey(node, ref), obj, isNew)
	}
	return e
}

// deleteObject records that a watched configmap or secret was deleted;
// its watch stays, as long as pods use it, to see it come back.
func (t *tracker) deleteObject(ref objectRef) effects {
	var e effects
	o := t.objects[ref]
	if o == nil || o.obj == nil {
		return e
	}
	o.obj = nil
	for _, node := range sortedKeys(o.users, cmp.Compare) {
		e.remove(refKey(node, ref))
	}
	return e
}

// acquire counts one more pod of node using ref; the node's first sends
// the object if known, and the first node's starts its watch.
func (t *tracker) acquire(node string, en *edgeNode, ref objectRef, e *effects) {
	en.uses[ref]++
	if en.uses[ref] > 1 || !sendable(ref) {
		return
	}
	o := t.objects[ref]
	if o == nil {
		o = &usedObject{users: make(map[string]struct{})}
		t.objects[ref] = o
		e.watch = append(e.watch, ref)
	}
	o.users[node] = struct{}{}
	if o.obj != nil {
		e.upsert(refKey(node, ref), o.obj, true)
	}
}

// release counts one pod of node fewer using ref.
func (t *tracker) release(node string, en *edgeNode, ref objectRef, e *effects) {
	if en.uses[ref]--; en.uses[ref] > 0 {
		return
	}
	delete(en.uses, ref)
	t.releaseAll(node, ref, e)
}

// releaseAll takes ref out of node's set: no pod of node uses it any more.
func (t *tracker) releaseAll(node string, ref objectRef, e *effects) {
	if !sendable(ref) {
		return
	}
	o := t.objects[ref]
	if o == nil {
		return
	}
	delete(o.users, node)
	if o.obj != nil {
		e.remove(refKey(node, ref))
	}
	if len(o.users) == 0 {
		delete(t.objects, ref)
		e.unwatch = append(e.unwatch, ref)
	}
}

// Queries.

func (t *tracker) node(name string) (*corev1.Node, bool) {
	en := t.nodes[name]
	if en == nil {
		return nil, false
	}
	return en.node, true
}

func (t *tracker) pod(node, namespace, name string) (*corev1.Pod, bool) {
	en := t.nodes[node]
	if en == nil {
		return nil, false
	}
	p, ok := en.pods[podName{namespace, name}]
	return p.pod, ok
}

func (t *tracker) uses(node string, ref objectRef) bool {
	en := t.nodes[node]
	return en != nil && en.uses[ref] > 0
}

func (t *tracker) object(ref objectRef) (kubeObject, bool) {
	o := t.objects[ref]
	if o == nil || o.obj == nil {
		return nil, false
	}
	return o.obj, true
}

// podNames lists the pods the tracker holds for node.
func (t *tracker) podNames(node string) []podName {
	en := t.nodes[node]
	if en == nil {
		return nil
	}
	return sortedKeys(en.pods, comparePodNames)
}

// refsOf lists the configmaps and secrets node's pods use.
func (t *tracker) refsOf(node string) []objectRef {
	en := t.nodes[node]
	if en == nil {
		return nil
	}
	var out []objectRef
	for ref := range en.uses {
		if sendable(ref) {
			out = append(out, ref)
		}
	}
	slices.SortFunc(out, compareRefs)
	return out
}

// watched lists what must be watched for the tracker's state: every
// node's pods, and every object some node uses.
func (t *tracker) watched() (nodes []string, refs []objectRef) {
	return sortedKeys(t.nodes, cmp.Compare), sortedKeys(t.objects, compareRefs)
}

// counts returns how many edge nodes, pods on them and known objects the
// tracker holds.
func (t *tracker) counts() (nodes, pods, objects int) {
	for _, en := range t.nodes {
		pods += len(en.pods)
	}
	for _, o := range t.objects {
		if o.obj != nil {
			objects++
		}
	}
	return len(t.nodes), pods, objects
}

func sortedKeys[K comparable, V any](m map[K]V, compare func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compare)
	return keys
}

func comparePodNames(a, b podName) int {
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

func compareRefs(a, b objectRef) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}
