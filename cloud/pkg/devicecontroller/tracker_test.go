package devicecontroller

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
)

func dev(name, node, model, rv string) *v1beta1.Device {
	d := &v1beta1.Device{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv, UID: types.UID("uid-" + name)}}
	d.Spec.NodeName = node
	if model != "" {
		d.Spec.DeviceModelRef = &corev1.LocalObjectReference{Name: model}
	}
	return d
}

// devGen is dev with a metadata.generation.
func devGen(name, node, model, rv string, generation int64) *v1beta1.Device {
	d := dev(name, node, model, rv)
	d.Generation = generation
	return d
}

func model(name, rv string) *v1beta1.DeviceModel {
	return &v1beta1.DeviceModel{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv}}
}

// step is one informer event for the tracker.
type step struct {
	dev      *v1beta1.Device
	model    *v1beta1.DeviceModel
	delDev   string
	delModel string
}

func (s step) apply(t *tracker) []send {
	switch {
	case s.dev != nil:
		return t.upsertDevice(s.dev)
	case s.model != nil:
		return t.upsertModel(s.model)
	case s.delDev != "":
		return t.deleteDevice(key{"ns", s.delDev})
	default:
		return t.deleteModel(key{"ns", s.delModel})
	}
}

// show renders sends as "op node/type/name@rv".
func show(sends []send) []string {
	var out []string
	for _, s := range sends {
		out = append(out, fmt.Sprintf("%s %s/%s/%s@%s", s.op, s.res.Node, s.res.Type, s.res.Name, s.rv))
	}
	return out
}

func TestTracker(t *testing.T) {
	tests := []struct {
		name  string
		setup []step
		step  step
		want  []string
	}{
		{"model known: model before device", []step{{model: model("m", "1")}},
			step{dev: dev("d", "n1", "m", "2")},
			[]string{"insert n1/devicemodel/m@1", "insert n1/device/d@2"}},
		{"model unknown: device only", nil,
			step{dev: dev("d", "n1", "m", "2")},
			[]string{"insert n1/device/d@2"}},
		{"model arrives after its device", []step{{dev: dev("d", "n1", "m", "2")}},
			step{model: model("m", "3")},
			[]string{"insert n1/devicemodel/m@3"}},
		{"no node: nothing", []step{{model: model("m", "1")}},
			step{dev: dev("d", "", "m", "2")}, nil},
		{"no model reference", nil,
			step{dev: dev("d", "n1", "", "2")},
			[]string{"insert n1/device/d@2"}},
		{"second device of a model on the node: device only", []step{{model: model("m", "1")}, {dev: dev("a", "n1", "m", "2")}},
			step{dev: dev("b", "n1", "m", "3")},
			[]string{"insert n1/device/b@3"}},
		{"device update", []step{{model: model("m", "1")}, {dev: dev("d", "n1", "m", "2")}},
			step{dev: dev("d", "n1", "m", "5")},
			[]string{"update n1/device/d@5"}},
		{"status written (same generation): nothing", []step{{model: model("m", "1")}, {dev: devGen("d", "n1", "m", "2", 1)}},
			step{dev: devGen("d", "n1", "m", "3", 1)}, nil},
		{"spec changed (new generation)", []step{{model: model("m", "1")}, {dev: devGen("d", "n1", "m", "2", 1)}},
			step{dev: devGen("d", "n1", "m", "3", 2)},
			[]string{"update n1/device/d@3"}},
		{"same generation, another node: a move", []step{{model: model("m", "1")}, {dev: devGen("d", "n1", "m", "2", 1)}},
			step{dev: devGen("d", "n2", "m", "3", 1)},
			[]string{"delete n1/device/d@", "delete n1/devicemodel/m@", "insert n2/devicemodel/m@1", "insert n2/device/d@3"}},
		{"resync of the same version: nothing", []step{{model: model("m", "1")}, {dev: dev("d", "n1", "m", "2")}},
			step{dev: dev("d", "n1", "m", "2")}, nil},
		{"model update goes to every node using it", []step{{model: model("m", "1")}, {dev: dev("a", "n1", "m", "2")},
			{dev: dev("b", "n2", "m", "3")}, {dev: dev("c", "n2", "m", "4")}, {dev: dev("x", "", "m", "5")}},
			step{model: model("m", "6")},
			[]string{"update n1/devicemodel/m@6", "update n2/devicemodel/m@6"}},
		{"model of no device: nothing", nil, step{model: model("m", "1")}, nil},
		{"move: delete on the old node, insert on the new", []step{{model: model("m", "1")}, {dev: dev("d", "n1", "m", "2")}},
			step{dev: dev("d", "n2", "m", "3")},
			[]string{"delete n1/device/d@", "delete n1/devicemodel/m@", "insert n2/devicemodel/m@1", "insert n2/device/d@3"}},
		{"move leaves the model on the old node while another device uses it",
			[]step{{model: model("m", "1")}, {dev: dev("a", "n1", "m", "2")}, {dev: dev("b", "n1", "m", "3")}},
			step{dev: dev("a", "n2", "m", "4")},
			[]string{"delete n1/device/a@", "insert n2/devicemodel/m@1", "insert n2/device/a@4"}},
		{"unbound from its node", []step{{model: model("m", "1")}, {dev: dev("d", "n1", "m", "2")}},
			step{dev: dev("d", "", "m", "3")},
			[]string{"delete n1/device/d@", "delete n1/devicemodel/m@"}},
		{"model reference changes: new model, device, old model gone",
			[]step{{model: model("m", "1")}, {model: model("k", "2")}, {dev: dev("d", "n1", "m", "3")}},
			step{dev: dev("d", "n1", "k", "4")},
			[]string{"insert n1/devicemodel/k@2", "update n1/device/d@4", "delete n1/devicemodel/m@"}},
		{"device deleted: device then its model", []step{{model: model("m", "1")}, {dev: dev("d", "n1", "m", "2")}},
			step{delDev: "d"},
			[]string{"delete n1/device/d@", "delete n1/devicemodel/m@"}},
		{"one of two devices deleted: model stays", []step{{model: model("m", "1")}, {dev: dev("a", "n1", "m", "2")}, {dev: dev("b", "n1", "m", "3")}},
			step{delDev: "a"},
			[]string{"delete n1/device/a@"}},
		{"unknown device deleted: nothing", nil, step{delDev: "d"}, nil},
		{"model deleted: from every node it was sent to",
			[]step{{model: model("m", "1")}, {dev: dev("a", "n1", "m", "2")}, {dev: dev("b", "n2", "m", "3")}},
			step{delModel: "m"},
			[]string{"delete n1/devicemodel/m@", "delete n2/devicemodel/m@"}},
		{"deleted model comes back", []step{{model: model("m", "1")}, {dev: dev("a", "n1", "m", "2")}, {delModel: "m"}},
			step{model: model("m", "5")},
			[]string{"insert n1/devicemodel/m@5"}},
		{"device of a deleted model leaves: no model delete",
			[]step{{model: model("m", "1")}, {dev: dev("a", "n1", "m", "2")}, {delModel: "m"}},
			step{delDev: "a"},
			[]string{"delete n1/device/a@"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker()
			for _, s := range tt.setup {
				s.apply(tr)
			}
			if got := show(tt.step.apply(tr)); !slices.Equal(got, tt.want) {
				t.Errorf("sends\n got %q\nwant %q", got, tt.want)
			}
			checkInvariants(t, tr)
		})
	}
}

// checkInvariants recomputes refs and sentModels from devices and models.
func checkInvariants(t *testing.T, tr *tracker) {
	t.Helper()
	refs := map[string]map[key]int{}
	for _, d := range tr.devices {
		m, ok := modelOf(d)
		if !ok || d.Spec.NodeName == "" {
			continue
		}
		if refs[d.Spec.NodeName] == nil {
			refs[d.Spec.NodeName] = map[key]int{}
		}
		refs[d.Spec.NodeName][m]++
	}
	if fmt.Sprint(refs) != fmt.Sprint(tr.refs) {
		t.Errorf("refs %v, want %v", tr.refs, refs)
	}
	for node, ms := range refs {
		for m := range ms {
			_, known := tr.models[m]
			if tr.sentModels[node][m] != known {
				t.Errorf("model %v on %s: sent %v, known %v", m, node, tr.sentModels[node][m], known)
			}
		}
	}
	for node, ms := range tr.sentModels {
		for m := range ms {
			if refs[node][m] == 0 {
				t.Errorf("model %v sent to %s, which does not use it", m, node)
			}
		}
	}
}
