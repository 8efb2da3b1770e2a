package edgecontroller

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-edge/tether/common/kubemsg"
)

// deletingPod is pod default/web (uid-web) as the apiserver holds it:
// bound to node, being deleted if deleting, a mirror pod if mirror.
func deletingPod(node string, deleting, mirror bool) *corev1.Pod {
	p := upPod("default", "web", node, "uid-web", "")
	if deleting {
		p.DeletionTimestamp = &metav1.Time{Time: time.Date(2030, 1, 1, 0, 0, 30, 0, time.UTC)}
		p.DeletionGracePeriodSeconds = new(int64(30))
	}
	if mirror {
		p.Annotations = map[string]string{kubemsg.MirrorPodAnnotation: "hash-1"}
	}
	return p
}

func TestAuthorizePodDelete(t *testing.T) {
	tests := []struct {
		name   string
		pod    *corev1.Pod
		reason string // part of the denial; "" for allowed
	}{
		{name: "own pod being deleted", pod: deletingPod("edge-a", true, false)},
		{name: "own pod not being deleted", pod: deletingPod("edge-a", false, false), reason: "not being deleted"},
		{name: "another node's pod being deleted", pod: deletingPod("edge-b", true, false), reason: `bound to node "edge-b"`},
		{name: "unbound pod being deleted", pod: deletingPod("", true, false), reason: `bound to node ""`},
		{name: "own mirror pod", pod: deletingPod("edge-a", false, true)},
		{name: "own mirror pod being deleted", pod: deletingPod("edge-a", true, true)},
		{name: "another node's mirror pod", pod: deletingPod("edge-b", false, true), reason: `bound to node "edge-b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := authorizePodDelete("edge-a", tt.pod)
			var d *denial
			switch {
			case tt.reason == "" && err != nil:
				t.Errorf("authorizePodDelete = %v, want allowed", err)
			case tt.reason != "" && (!errors.As(err, &d) || !strings.Contains(d.reason, tt.reason)):
				t.Errorf("authorizePodDelete = %v, want a denial saying %q", err, tt.reason)
			}
		})
	}
}

// The pod delete is authorized when applied, against the apiserver: the
// index says nothing about it, not even for a pod it does not hold.
func TestAuthorizePodDeleteLeftToApply(t *testing.T) {
	for _, name := range []string{"web", "unknown"} {
		u := upMsg{kind: upPodDelete, node: "edge-a", res: upRes("default", kubemsg.TypePod, name),
			podDel: &kubemsg.PodDelete{UID: "uid-web"}}
		if g, err := authorize(upTestIndex(), u); err != nil || g.pod != nil {
			t.Errorf("authorize(pod delete of %s) = %+v, %v; want an empty grant", name, g, err)
		}
	}
}
