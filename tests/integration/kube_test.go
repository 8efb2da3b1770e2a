package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-edge/tether/tests/testenv"
)

func TestKubeAPIServer(t *testing.T) {
	t.Parallel()
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	cs := kube.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tether-test", Labels: map[string]string{"app": "tether"}}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	got, err := cs.CoreV1().Namespaces().Get(ctx, "tether-test", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get namespace: %v", err)
	}
	if got.Labels["app"] != "tether" || got.UID == "" {
		t.Errorf("namespace read back as %+v", got.ObjectMeta)
	}
}

// TestKubeControlPlane checks kube-controller-manager (it creates the
// default service account) and kube-scheduler (it binds a pod to a node).
func TestKubeControlPlane(t *testing.T) {
	t.Parallel()
	kube := testenv.StartKube(t, testenv.KubeOptions{Scheduler: true, ControllerManager: true})
	cs := kube.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	start := time.Now()
	testenv.WaitFor(t, 30*time.Second, "the default service account", func() error {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	t.Logf("controller-manager made the default service account in %v", time.Since(start).Round(time.Millisecond))

	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "edge-1"},
		Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")},
			Allocatable: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now()}},
		},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node: %v", err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "hello", Image: testenv.BusyboxImage}}},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	start = time.Now()
	testenv.WaitFor(t, 30*time.Second, "the pod to be scheduled", func() error {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "hello", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Spec.NodeName != "edge-1" {
			return fmt.Errorf("pod on node %q", p.Spec.NodeName)
		}
		return nil
	})
	t.Logf("scheduler bound the pod in %v", time.Since(start).Round(time.Millisecond))
}
