package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-edge/tether/cloud/pkg/edgecontroller"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edged/staticpod"
	"github.com/tether-edge/tether/tests/testenv"
)

const mirrorManifest = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: web
    image: busybox:1.36
    command: [sleep, "3600"]
`

// TestMirrorPods: against a real apiserver, an edge node creates the
// mirror pod of its static pod through EdgeController (owned by its Node,
// no service account added), is refused other pods and other nodes'
// mirror pods, receives its mirror pod down like any of its pods, and
// deletes it by uid.
func TestMirrorPods(t *testing.T) {
	t.Parallel()
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	cs := kube.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	kube.WaitDefaultNamespace(t)
	nodes := map[string]*corev1.Node{}
	for _, name := range []string{"edge-m", "edge-n"} {
		n, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{"node-role.kubernetes.io/edge": ""}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		nodes[name] = n
	}
	ctrl, bus, hub := startEdgeController(t, edgecontroller.Options{Client: cs})
	m := &upEdge{t: t, bus: bus, node: "edge-m"}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(mirrorManifest), 0o600); err != nil {
		t.Fatal(err)
	}
	static, errs := staticpod.Scan(dir, "edge-m", nil)
	if len(static) != 1 || len(errs) != 0 {
		t.Fatalf("scan: %d pods, errs %v", len(static), errs)
	}
	mirror := staticpod.Mirror(static[0], "edge-m", nodes["edge-m"].UID)

	created := testMirrorCreate(ctx, t, cs, m, mirror)
	testMirrorDown(t, hub, created)
	testMirrorDenied(ctx, t, cs, ctrl, m, mirror, nodes["edge-n"])
	testMirrorDelete(ctx, t, cs, hub, m, created)
}

// testMirrorCreate: the mirror pod is created as sent, with the owner
// reference, and creating it again is answered with it.
func testMirrorCreate(ctx context.Context, t *testing.T, cs kubernetes.Interface, m *upEdge, mirror *corev1.Pod) *corev1.Pod {
	t.Helper()
	var answered corev1.Pod
	// The index must hold edge-m's Node to check the owner's uid.
	testenv.WaitFor(t, upWait, "the mirror pod created", func() error {
		resp := m.request(message.OpInsert, "default", kubemsg.TypeMirrorPod, mirror.Name, mirror)
		if resp.Route.Operation != message.OpResponse {
			return fmt.Errorf("%s", resp.Content)
		}
		return json.Unmarshal(resp.Content, &answered)
	})
	got, err := cs.CoreV1().Pods("default").Get(ctx, mirror.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.UID != answered.UID || answered.Kind != "Pod" {
		t.Errorf("answered uid %s kind %q, want the pod's %s", answered.UID, answered.Kind, got.UID)
	}
	if !staticpod.IsMirror(got) || got.Annotations[staticpod.AnnotationMirror] != mirror.Annotations[staticpod.AnnotationHash] ||
		got.Spec.NodeName != "edge-m" {
		t.Errorf("mirror pod annotations %v node %q", got.Annotations, got.Spec.NodeName)
	}
	if o := got.OwnerReferences; len(o) != 1 || o[0].Kind != "Node" || o[0].Name != "edge-m" || o[0].UID != mirror.OwnerReferences[0].UID {
		t.Errorf("owner references %+v", o)
	}
	// The ServiceAccount admission plugin leaves mirror pods alone: no
	// account, no token volume (nothing here created a "default" one).
	if got.Spec.ServiceAccountName != "" || len(got.Spec.Volumes) != 0 {
		t.Errorf("service account %q volumes %+v", got.Spec.ServiceAccountName, got.Spec.Volumes)
	}

	var again corev1.Pod
	m.answer(message.OpInsert, "default", kubemsg.TypeMirrorPod, mirror.Name, mirror, &again)
	if again.UID != got.UID {
		t.Errorf("created again: uid %s, want the existing %s", again.UID, got.UID)
	}
	return got
}

// testMirrorDown: the mirror pod reaches the hub as one of edge-m's pods.
func testMirrorDown(t *testing.T, hub *recordingHub, created *corev1.Pod) {
	t.Helper()
	key := message.Resource{Namespace: "default", Type: kubemsg.TypePod, Name: created.Name}
	testenv.WaitFor(t, upWait, "the mirror pod sent down", func() error {
		for _, msg := range hub.messages() {
			if msg.Route.Resource != key.OnNode("edge-m") || msg.Route.Operation == message.OpDelete {
				continue
			}
			var p corev1.Pod
			if err := json.Unmarshal(msg.Content, &p); err != nil {
				return err
			}
			if p.UID == created.UID && staticpod.IsMirror(&p) {
				return nil
			}
		}
		return fmt.Errorf("no upsert of %s with uid %s", key, created.UID)
	})
}

// testMirrorDenied: edge-m may create neither a plain pod nor another
// node's mirror pod, nor delete another node's mirror pod.
func testMirrorDenied(ctx context.Context, t *testing.T, cs kubernetes.Interface, ctrl *edgecontroller.Controller, m *upEdge,
	mirror *corev1.Pod, nodeN *corev1.Node) {
	t.Helper()
	before := ctrl.Denials()
	plain := mirror.DeepCopy()
	plain.Name = "plain-edge-m"
	delete(plain.Annotations, staticpod.AnnotationMirror)
	m.forbidden(message.OpInsert, "default", kubemsg.TypeMirrorPod, plain.Name, plain)

	forN := staticpod.Mirror(mirror, "edge-n", nodeN.UID)
	forN.Name = "web-edge-n"
	forN.Spec.NodeName = "edge-n"
	m.forbidden(message.OpInsert, "default", kubemsg.TypeMirrorPod, forN.Name, forN)

	for _, name := range []string{plain.Name, forN.Name} {
		if _, err := cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("pod %s after a denied create: %v, want not found", name, err)
		}
	}

	// edge-n's own mirror pod, made by the cluster's admin.
	nPod, err := cs.CoreV1().Pods("default").Create(ctx, forN, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.forbidden(message.OpDelete, "default", kubemsg.TypeMirrorPod, nPod.Name, kubemsg.MirrorPodDelete{UID: nPod.UID})
	if _, err := cs.CoreV1().Pods("default").Get(ctx, nPod.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("edge-n's mirror pod after edge-m's delete: %v", err)
	}
	if got := ctrl.Denials() - before; got != 3 {
		t.Errorf("denials = %d, want 3", got)
	}
}

// testMirrorDelete: a delete naming another uid leaves the pod; one
// naming its uid deletes it at once, and the hub is told; deleting it
// again is ok.
func testMirrorDelete(ctx context.Context, t *testing.T, cs kubernetes.Interface, hub *recordingHub, m *upEdge, created *corev1.Pod) {
	t.Helper()
	resp := m.request(message.OpDelete, "default", kubemsg.TypeMirrorPod, created.Name, kubemsg.MirrorPodDelete{UID: "not-its-uid"})
	if resp.Route.Operation != message.OpResponse {
		t.Errorf("delete of another uid answered %s %s", resp.Route.Operation, resp.Content)
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, created.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("mirror pod after a delete of another uid: %v", err)
	}
	for range 2 {
		resp = m.request(message.OpDelete, "default", kubemsg.TypeMirrorPod, created.Name, kubemsg.MirrorPodDelete{UID: created.UID})
		if resp.Route.Operation != message.OpResponse {
			t.Fatalf("delete answered %s %s", resp.Route.Operation, resp.Content)
		}
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, created.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("mirror pod after its delete: %v, want not found", err)
	}
	testenv.WaitFor(t, upWait, "the mirror pod's delete sent down", func() error {
		if !hub.deleted("edge-m", message.Resource{Namespace: "default", Type: kubemsg.TypePod, Name: created.Name}) {
			return fmt.Errorf("no delete of %s", created.Name)
		}
		return nil
	})
}
