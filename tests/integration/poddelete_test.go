package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-edge/tether/cloud/pkg/edgecontroller"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/tests/testenv"
)

// TestPodFinalDelete: against a real apiserver, a pod deleted with a
// grace period stays Terminating until its node's final delete (kubemsg
// PodDelete) removes it through EdgeController; a node may not remove a
// pod the cluster is not deleting, nor another node's pod, and a delete
// naming another uid is answered ok and leaves the pod.
func TestPodFinalDelete(t *testing.T) {
	t.Parallel()
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	cs := kube.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	kube.WaitDefaultNamespace(t)
	// The ServiceAccount admission plugin wants the pods' account.
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"edge-p", "edge-q"} {
		if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{"node-role.kubernetes.io/edge": ""}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ctrl, bus, hub := startEdgeController(t, edgecontroller.Options{Client: cs})
	p := &upEdge{t: t, bus: bus, node: "edge-p"}
	q := &upEdge{t: t, bus: bus, node: "edge-q"}

	web := podDeleteCreate(ctx, t, cs, "web", "edge-p")
	running := podDeleteCreate(ctx, t, cs, "running", "edge-p")
	if err := cs.CoreV1().Pods("default").Delete(ctx, web.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(30))}); err != nil {
		t.Fatal(err)
	}
	terminating := podDeleteGet(ctx, t, cs, web.Name)
	if terminating.DeletionTimestamp == nil {
		t.Fatalf("pod %s after a delete with grace 30s has no deletionTimestamp", web.Name)
	}

	before := ctrl.Denials()
	// Not being deleted: the node may not remove it.
	p.forbidden(message.OpDelete, "default", kubemsg.TypePod, running.Name, kubemsg.PodDelete{UID: running.UID})
	// Another node's pod, though it is being deleted.
	q.forbidden(message.OpDelete, "default", kubemsg.TypePod, web.Name, kubemsg.PodDelete{UID: web.UID})
	if got := ctrl.Denials() - before; got != 2 {
		t.Errorf("denials = %d, want 2", got)
	}
	// Another uid: ok, and nothing removed.
	if resp := p.request(message.OpDelete, "default", kubemsg.TypePod, web.Name, kubemsg.PodDelete{UID: "not-its-uid"}); resp.Route.Operation != message.OpResponse {
		t.Errorf("delete of another uid answered %s %q, want ok", resp.Route.Operation, resp.Content)
	}
	for _, name := range []string{running.Name, web.Name} {
		podDeleteGet(ctx, t, cs, name)
	}

	testPodFinalDeleted(ctx, t, cs, hub, p, terminating)
	if got := podDeleteGet(ctx, t, cs, running.Name); got.DeletionTimestamp != nil {
		t.Errorf("running pod is being deleted")
	}
}

// testPodFinalDeleted: the node's final delete of pod (Terminating) removes it
// at once, the hub is told, and removing it again is ok.
func testPodFinalDeleted(ctx context.Context, t *testing.T, cs kubernetes.Interface, hub *recordingHub, e *upEdge, pod *corev1.Pod) {
	t.Helper()
	for range 2 {
		if resp := e.request(message.OpDelete, "default", kubemsg.TypePod, pod.Name, kubemsg.PodDelete{UID: pod.UID}); resp.Route.Operation != message.OpResponse {
			t.Fatalf("final delete answered %s %q", resp.Route.Operation, resp.Content)
		}
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod after its final delete: %v, want not found", err)
	}
	testenv.WaitFor(t, upWait, "the pod's delete sent down", func() error {
		if !hub.deleted(e.node, message.Resource{Namespace: "default", Type: kubemsg.TypePod, Name: pod.Name}) {
			return fmt.Errorf("no delete of %s", pod.Name)
		}
		return nil
	})
}

// podDeleteCreate creates pod default/name bound to node, with no
// finalizers: only its deletion keeps it.
func podDeleteCreate(ctx context.Context, t *testing.T, cs kubernetes.Interface, name, node string) *corev1.Pod {
	t.Helper()
	p, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{NodeName: node, AutomountServiceAccountToken: new(false),
			Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// podDeleteGet returns pod default/name, failing t if it is not there.
func podDeleteGet(ctx context.Context, t *testing.T, cs kubernetes.Interface, name string) *corev1.Pod {
	t.Helper()
	p, err := cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("pod %s: %v", name, err)
	}
	return p
}
