package edgecontroller

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tether-edge/tether/common/kubemsg"
)

func newMirrorUpstream(t *testing.T, objs ...*corev1.Pod) (*upstream, *fake.Clientset) {
	t.Helper()
	cs := fake.NewClientset()
	for _, p := range objs {
		if err := cs.Tracker().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	o := Options{Bus: newUpBus(), Client: cs, Logger: quietLogger(), Hub: "hub"}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	return newUpstream(o, o.Logger, upTestIndex()), cs
}

func TestCreateMirrorPod(t *testing.T) {
	ctx := context.Background()
	u, cs := newMirrorUpstream(t)
	sent := mirrorPod(func(p *corev1.Pod) {
		p.UID = "edge-uid"
		p.ResourceVersion = "5"
		p.Status.Phase = corev1.PodRunning
	})
	b, err := u.createMirrorPod(ctx, "edge-a", sent)
	if err != nil {
		t.Fatal(err)
	}
	var answered corev1.Pod
	if err := json.Unmarshal(b, &answered); err != nil {
		t.Fatal(err)
	}
	got, err := cs.CoreV1().Pods("default").Get(ctx, "web-edge-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Annotations[kubemsg.MirrorPodAnnotation] != "hash-1" || len(got.OwnerReferences) != 1 || got.Status.Phase != "" ||
		got.UID == "edge-uid" {
		t.Errorf("created %+v", got.ObjectMeta)
	}
	if answered.Kind != "Pod" || answered.Name != "web-edge-a" {
		t.Errorf("answer %s", b)
	}
	if sent.ResourceVersion != "5" || sent.UID != "edge-uid" {
		t.Error("createMirrorPod changed what was sent")
	}

	// The same mirror again (a lost answer): ok, the existing pod.
	if _, err := u.createMirrorPod(ctx, "edge-a", mirrorPod(nil)); err != nil {
		t.Errorf("the same mirror pod again: %v", err)
	}
	// Another hash under the name: the edge must delete the stale one first.
	_, err = u.createMirrorPod(ctx, "edge-a", mirrorPod(func(p *corev1.Pod) { p.Annotations[kubemsg.MirrorPodAnnotation] = "hash-2" }))
	var d *denial
	if err == nil || errors.As(err, &d) || !apierrors.IsAlreadyExists(err) || !strings.Contains(err.Error(), `hash "hash-1"`) {
		t.Errorf("another hash: %v, want an AlreadyExists error naming the existing hash", err)
	}
}

func TestCreateMirrorPodOverAPlainPod(t *testing.T) {
	plain := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-edge-a", UID: "api-uid"},
		Spec: corev1.PodSpec{NodeName: "edge-a"}}
	u, _ := newMirrorUpstream(t, plain)
	if _, err := u.createMirrorPod(context.Background(), "edge-a", mirrorPod(nil)); err == nil || !strings.Contains(err.Error(), "mirror false") {
		t.Errorf("create over a plain pod: %v, want an error", err)
	}
}

func TestDeleteMirrorPod(t *testing.T) {
	existing := func(name, node string, uid types.UID, mirror bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: uid}, Spec: corev1.PodSpec{NodeName: node}}
		if mirror {
			p.Annotations = map[string]string{kubemsg.MirrorPodAnnotation: "h"}
		}
		return p
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod // in the cluster; nil for none
		uid     types.UID   // the edge's
		denied  string      // part of the denial; "" for ok
		deleted bool
	}{
		{name: "own mirror pod", pod: existing("web-edge-a", "edge-a", "u1", true), uid: "u1", deleted: true},
		{name: "gone", uid: "u1"},
		{name: "replaced by another uid", pod: existing("web-edge-a", "edge-a", "u2", true), uid: "u1"},
		{name: "not a mirror pod", pod: existing("web-edge-a", "edge-a", "u1", false), uid: "u1", denied: "not a mirror pod"},
		{name: "another node's mirror pod", pod: existing("web-edge-a", "edge-b", "u1", true), uid: "u1", denied: `bound to node "edge-b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			var pods []*corev1.Pod
			if tt.pod != nil {
				pods = append(pods, tt.pod)
			}
			u, cs := newMirrorUpstream(t, pods...)
			_, err := u.deleteMirrorPod(ctx, "edge-a", upRes("default", kubemsg.TypeMirrorPod, "web-edge-a"), tt.uid)
			var d *denial
			switch {
			case tt.denied == "" && err != nil:
				t.Fatalf("delete = %v, want ok", err)
			case tt.denied != "" && (!errors.As(err, &d) || !strings.Contains(d.reason, tt.denied)):
				t.Fatalf("delete = %v, want a denial saying %q", err, tt.denied)
			}
			_, gerr := cs.CoreV1().Pods("default").Get(ctx, "web-edge-a", metav1.GetOptions{})
			if gone := apierrors.IsNotFound(gerr); gone != (tt.deleted || tt.pod == nil) {
				t.Errorf("pod gone %v (%v), want %v", gone, gerr, tt.deleted || tt.pod == nil)
			}
			for _, a := range cs.Actions() {
				del, ok := a.(k8stesting.DeleteAction)
				if !ok {
					continue
				}
				if !tt.deleted {
					t.Errorf("deleted %s", del.GetName())
				}
				o := del.GetDeleteOptions()
				if o.Preconditions == nil || o.Preconditions.UID == nil || *o.Preconditions.UID != tt.uid ||
					o.GracePeriodSeconds == nil || *o.GracePeriodSeconds != 0 {
					t.Errorf("delete options %+v, want uid %s and grace 0", o, tt.uid)
				}
			}
		})
	}
}
