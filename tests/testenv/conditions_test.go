package testenv

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestReadyConditions(t *testing.T) {
	node := func(cs ...corev1.NodeCondition) *corev1.Node {
		return &corev1.Node{Status: corev1.NodeStatus{Conditions: cs}}
	}
	pod := func(cs ...corev1.PodCondition) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Conditions: cs}}
	}
	pressure := corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionTrue}
	for _, c := range []struct {
		name      string
		got, want bool
	}{
		{"node without conditions", NodeReady(node()), false},
		{"node Ready=True after another condition", NodeReady(node(pressure, corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue})), true},
		{"node Ready=Unknown", NodeReady(node(corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown})), false},
		{"pod without conditions", PodReady(pod()), false},
		{"pod Ready=True", PodReady(pod(corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue})), true},
		{"pod Ready=False", PodReady(pod(corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse})), false},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}
