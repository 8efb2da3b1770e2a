package devicecontroller

import (
	"slices"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/common/devicemsg"
	"github.com/tether-edge/tether/common/message"
)

// key names a Device or a DeviceModel in its namespace.
type key struct{ Namespace, Name string }

// tracker is the pure core of the downstream half: from the Devices and
// DeviceModels the informers report it decides what to put in or take out
// of each node's desired set in the hub. It does no I/O and is not safe
// for concurrent use; the downstream loop alone calls it.
//
// Its invariants, after every call:
//   - devices holds every Device reported and not deleted since, models
//     every DeviceModel;
//   - refs[node][model] counts the node's devices referencing model;
//   - sentModels[node] holds the models inserted on node and not deleted
//     since: exactly the known models with refs[node][model] > 0;
//   - what has been sent to node N, applied in order, is N's devices and
//     the known models they reference.
type tracker struct {
	devices    map[key]*v1beta1.Device
	models     map[key]*v1beta1.DeviceModel
	refs       map[string]map[key]int
	sentModels map[string]map[key]bool
}

// send is one message for the hub. obj is nil for a delete.
type send struct {
	op   message.Operation
	res  message.Resource
	obj  runtime.Object
	rv   string
	kind string // v1beta1.DeviceKind or v1beta1.DeviceModelKind
}

func newTracker() *tracker {
	return &tracker{
		devices:    map[key]*v1beta1.Device{},
		models:     map[key]*v1beta1.DeviceModel{},
		refs:       map[string]map[key]int{},
		sentModels: map[string]map[key]bool{},
	}
}

// modelOf is the key of the model d references; ok false if none.
func modelOf(d *v1beta1.Device) (key, bool) {
	if d == nil || d.Spec.DeviceModelRef == nil || d.Spec.DeviceModelRef.Name == "" {
		return key{}, false
	}
	return key{d.Namespace, d.Spec.DeviceModelRef.Name}, true
}

func nodeOf(d *v1beta1.Device) string {
	if d == nil {
		return ""
	}
	return d.Spec.NodeName
}

// upsertDevice records d (added or updated) and returns what to send.
func (t *tracker) upsertDevice(d *v1beta1.Device) []send {
	k := key{d.Namespace, d.Name}
	old := t.devices[k]
	if old != nil && old.ResourceVersion == d.ResourceVersion && old.ResourceVersion != "" {
		return nil // a resync: nothing changed
	}
	t.devices[k] = d
	if sameForEdge(old, d) {
		// Only the status (or other metadata) changed, which the edge
		// does not use: most often the status the edge itself reported.
		// The node keeps the earlier version, as the hub's desired set
		// does, so the next manifest diff agrees.
		return nil
	}
	oldNode, newNode := nodeOf(old), nodeOf(d)
	oldModel, hadModel := modelOf(old)
	newModel, hasModel := modelOf(d)
	var out []send
	if oldNode != "" && oldNode != newNode {
		out = append(out, deviceSend(message.OpDelete, oldNode, k, nil))
		if hadModel {
			out = append(out, t.unref(oldNode, oldModel)...)
		}
	}
	if newNode == "" {
		return out
	}
	op := message.OpUpdate
	if oldNode != newNode {
		op = message.OpInsert
	}
	sameRef := op == message.OpUpdate && hadModel == hasModel && oldModel == newModel
	if hasModel && !sameRef {
		out = append(out, t.ref(newNode, newModel)...)
	}
	out = append(out, deviceSend(op, newNode, k, d))
	if op == message.OpUpdate && hadModel && !sameRef {
		out = append(out, t.unref(newNode, oldModel)...)
	}
	return out
}

// sameForEdge reports whether a and b are the same Device with the same
// spec (metadata.generation, which the apiserver bumps on every spec
// change of a CRD with a status subresource) on the same node.
func sameForEdge(a, b *v1beta1.Device) bool {
	return a != nil && a.UID == b.UID && a.Generation != 0 && a.Generation == b.Generation && nodeOf(a) == nodeOf(b)
}

// deleteDevice forgets the Device k and returns what to send.
func (t *tracker) deleteDevice(k key) []send {
	old, ok := t.devices[k]
	if !ok {
		return nil
	}
	delete(t.devices, k)
	node := nodeOf(old)
	if node == "" {
		return nil
	}
	out := []send{deviceSend(message.OpDelete, node, k, nil)}
	if m, ok := modelOf(old); ok {
		out = append(out, t.unref(node, m)...)
	}
	return out
}

// upsertModel records m and sends it to every node whose devices use it.
func (t *tracker) upsertModel(m *v1beta1.DeviceModel) []send {
	k := key{m.Namespace, m.Name}
	old := t.models[k]
	if old != nil && old.ResourceVersion == m.ResourceVersion && old.ResourceVersion != "" {
		return nil
	}
	t.models[k] = m
	var out []send
	for _, node := range t.nodesUsing(k) {
		op := message.OpUpdate
		if !t.sentModels[node][k] {
			op = message.OpInsert
			t.markSent(node, k, true)
		}
		out = append(out, modelSend(op, node, k, m))
	}
	return out
}

// deleteModel forgets the model k and deletes it from every node it was
// sent to; the devices keep referencing it.
func (t *tracker) deleteModel(k key) []send {
	if _, ok := t.models[k]; !ok {
		return nil
	}
	delete(t.models, k)
	var out []send
	for _, node := range t.nodesUsing(k) {
		if t.sentModels[node][k] {
			t.markSent(node, k, false)
			out = append(out, modelSend(message.OpDelete, node, k, nil))
		}
	}
	return out
}

// ref counts one more device of node using model; the first one sends
// the model if it is known.
func (t *tracker) ref(node string, model key) []send {
	if t.refs[node] == nil {
		t.refs[node] = map[key]int{}
	}
	t.refs[node][model]++
	m, known := t.models[model]
	if t.refs[node][model] != 1 || !known {
		return nil
	}
	t.markSent(node, model, true)
	return []send{modelSend(message.OpInsert, node, model, m)}
}

// unref counts one device fewer of node using model; the last one deletes
// the model from node if it was sent.
func (t *tracker) unref(node string, model key) []send {
	t.refs[node][model]--
	if t.refs[node][model] > 0 {
		return nil
	}
	delete(t.refs[node], model)
	if len(t.refs[node]) == 0 {
		delete(t.refs, node)
	}
	if !t.sentModels[node][model] {
		return nil
	}
	t.markSent(node, model, false)
	return []send{modelSend(message.OpDelete, node, model, nil)}
}

func (t *tracker) markSent(node string, model key, sent bool) {
	if sent {
		if t.sentModels[node] == nil {
			t.sentModels[node] = map[key]bool{}
		}
		t.sentModels[node][model] = true
		return
	}
	delete(t.sentModels[node], model)
	if len(t.sentModels[node]) == 0 {
		delete(t.sentModels, node)
	}
}

// nodesUsing lists, sorted, the nodes with a device referencing model.
func (t *tracker) nodesUsing(model key) []string {
	var nodes []string
	for node, refs := range t.refs {
		if refs[model] > 0 {
			nodes = append(nodes, node)
		}
	}
	slices.Sort(nodes)
	return nodes
}

// device returns the Device k as last reported.
func (t *tracker) device(k key) (*v1beta1.Device, bool) {
	d, ok := t.devices[k]
	return d, ok
}

func deviceSend(op message.Operation, node string, k key, d *v1beta1.Device) send {
	s := send{op: op, kind: v1beta1.DeviceKind,
		res: message.Resource{Node: node, Namespace: k.Namespace, Type: devicemsg.TypeDevice, Name: k.Name}}
	if d != nil {
		s.obj, s.rv = d, d.ResourceVersion
	}
	return s
}

func modelSend(op message.Operation, node string, k key, m *v1beta1.DeviceModel) send {
	s := send{op: op, kind: v1beta1.DeviceModelKind,
		res: message.Resource{Node: node, Namespace: k.Namespace, Type: devicemsg.TypeDeviceModel, Name: k.Name}}
	if m != nil {
		s.obj, s.rv = m, m.ResourceVersion
	}
	return s
}
