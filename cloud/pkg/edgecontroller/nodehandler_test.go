package edgecontroller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A Node update that changes only its status (the edge's own heartbeat)
// is not sent back down; any change of metadata or spec is.
func TestNodeHandlerSkipsStatusOnlyUpdates(t *testing.T) {
	base := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", ResourceVersion: "1", Labels: map[string]string{edgeNodeLabel: ""}},
		Status:     corev1.NodeStatus{Phase: corev1.NodeRunning},
	}
	change := func(f func(n *corev1.Node)) *corev1.Node {
		n := base.DeepCopy()
		n.ResourceVersion = "2"
		n.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "cloudcore"}}
		f(n)
		return n
	}
	cases := []struct {
		name string
		new  *corev1.Node
		sent bool
	}{
		{"heartbeat", change(func(n *corev1.Node) {
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
		}), false},
		{"label", change(func(n *corev1.Node) { n.Labels["site"] = "plant-3" }), true},
		{"annotation", change(func(n *corev1.Node) { n.Annotations = map[string]string{"a": "b"} }), true},
		{"taint", change(func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}}
		}), true},
		{"cordon", change(func(n *corev1.Node) { n.Spec.Unschedulable = true }), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []event
			h := nodeHandler(func(ev event) { got = append(got, ev) })
			h.OnUpdate(base, c.new)
			if sent := len(got) == 1; sent != c.sent {
				t.Fatalf("sent %v (%d events); want %v", sent, len(got), c.sent)
			}
		})
	}
	var got []event
	nodeHandler(func(ev event) { got = append(got, ev) }).OnAdd(base, false)
	if len(got) != 1 {
		t.Fatalf("an added node made %d events; want 1", len(got))
	}
}
