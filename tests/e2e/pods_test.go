package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
	"github.com/tether-edge/tether/tests/testenv"
)

const podsNode = "edge-pods"

// Pods on an edge node with the real binaries, apiserver and containerd:
// the Node reports its runtime, a pod created in the API runs on the
// bridge network with its service-account token, a static pod appears as
// a mirror pod, an edgecore restart leaves the running containers alone,
// and `kubectl delete` completes: the edge stops the pod with its grace
// period, then removes it from the API.
func TestEdgePodsRun(t *testing.T) {
	kube := testenv.StartKube(t, testenv.KubeOptions{ControllerManager: true})
	client := kube.Clientset(t)
	ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{})
	cloud := testenv.StartCloudcore(t, testenv.CloudcoreOptions{Bin: binDir, Kube: kube})
	opts := testenv.EdgecoreOptions{
		Bin: binDir, Cloud: cloud, NodeName: podsNode, Token: cloud.JoinToken(t, time.Hour), Containerd: ctd,
	}
	edge := testenv.StartEdgecore(t, opts)
	node := waitNode(t, client, podsNode, 60*time.Second, func(n *corev1.Node) error {
		if !testenv.NodeReady(n) {
			return fmt.Errorf("not Ready")
		}
		if len(n.Status.Images) == 0 {
			return fmt.Errorf("no images reported")
		}
		return nil
	})
	if v := node.Status.NodeInfo.ContainerRuntimeVersion; !strings.HasPrefix(v, "containerd://") {
		t.Errorf("containerRuntimeVersion %q, want containerd://...", v)
	}
	waitDefaultServiceAccount(t, client)

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName: podsNode,
			Containers: []corev1.Container{{
				Name: "main", Image: testenv.BusyboxImage, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sh", "-c", "echo token-bytes=$(wc -c < /var/run/secrets/kubernetes.io/serviceaccount/token); exec sleep 3600"},
			}},
		},
	}
	pod, err := client.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	running := waitPod(t, client, "default", "web", 60*time.Second, podRunning)
	if running.Status.PodIP == "" || running.Status.PodIP == running.Status.HostIP {
		t.Errorf("pod IP %q (host %q); want one from the bridge network", running.Status.PodIP, running.Status.HostIP)
	}
	logFile := filepath.Join(edge.PodLogsDir(), fmt.Sprintf("default_web_%s", pod.UID), "main", "0.log")
	testenv.WaitFor(t, 30*time.Second, "the service-account token in the container", func() error {
		b, err := os.ReadFile(logFile)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "token-bytes=") || strings.Contains(string(b), "token-bytes=0") {
			return fmt.Errorf("log: %s", b)
		}
		return nil
	})

	t.Run("a static pod appears as a mirror pod", func(t *testing.T) {
		manifest := "apiVersion: v1\nkind: Pod\nmetadata: {name: static-web}\nspec:\n  hostNetwork: true\n  containers:\n" +
			"  - {name: main, image: " + testenv.BusyboxImage + ", imagePullPolicy: IfNotPresent, command: [sleep, \"3600\"]}\n"
		if err := os.WriteFile(filepath.Join(edge.StaticPodDir(), "static-web.yaml"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		mirror := waitPod(t, client, "default", "static-web-"+podsNode, 60*time.Second, podRunning)
		if mirror.Annotations["kubernetes.io/config.mirror"] == "" {
			t.Errorf("mirror pod annotations %v; want kubernetes.io/config.mirror", mirror.Annotations)
		}
	})

	parent := t // the restarted edgecore outlives the subtest
	t.Run("an edgecore restart keeps the containers", func(t *testing.T) {
		before := containerIDs(t, ctd, pod)
		if err := edge.Process.Stop(); err != nil {
			t.Fatal(err)
		}
		opts.Token, opts.PKIDir, opts.DBPath, opts.EdgedDir = "", edge.PKIDir, edge.DBPath, edge.EdgedDir
		restarted := metav1.NewTime(time.Now().Truncate(time.Second)) // API times have seconds
		edge = testenv.StartEdgecore(parent, opts)
		testenv.WaitLog(t, edge.Process, 30*time.Second, "container runtime reached")
		waitNode(t, client, podsNode, 30*time.Second, func(n *corev1.Node) error {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue && !c.LastHeartbeatTime.Before(&restarted) {
					return nil
				}
			}
			return fmt.Errorf("no Ready heartbeat since the restart")
		})
		after := waitPod(t, client, "default", "web", 30*time.Second, podRunning)
		if got := containerIDs(t, ctd, pod); strings.Join(got, ",") != strings.Join(before, ",") {
			t.Errorf("containers after the restart %v, want the same %v", got, before)
		}
		if n := after.Status.ContainerStatuses[0].RestartCount; n != 0 {
			t.Errorf("restart count %d after an edgecore restart, want 0", n)
		}
	})

	t.Run("kubectl delete completes", func(t *testing.T) {
		grace := int64(3)
		start := time.Now()
		if err := client.CoreV1().Pods("default").Delete(context.Background(), "web", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, 60*time.Second, "pod web removed from the API", func() error {
			_, err := client.CoreV1().Pods("default").Get(context.Background(), "web", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("still there (err %v)", err)
		})
		took := time.Since(start)
		t.Logf("pod removed %v after the delete", took.Round(time.Millisecond))
		if took < time.Duration(grace-1)*time.Second {
			t.Errorf("pod removed after %v, before its %d s grace period (sleep ignores SIGTERM)", took, grace)
		}
		if ids := containerIDs(t, ctd, pod); len(ids) > 0 {
			testenv.WaitFor(t, 30*time.Second, "the pod's containers removed", func() error {
				if ids := containerIDs(t, ctd, pod); len(ids) > 0 {
					return fmt.Errorf("left: %v", ids)
				}
				return nil
			})
		}
	})
}

func podRunning(p *corev1.Pod) error {
	if p.Status.Phase != corev1.PodRunning {
		return fmt.Errorf("phase %q", p.Status.Phase)
	}
	if !testenv.PodReady(p) {
		return fmt.Errorf("not Ready: %+v", p.Status.Conditions)
	}
	return nil
}

func waitPod(t *testing.T, client kubernetes.Interface, ns, name string, timeout time.Duration, ok func(*corev1.Pod) error) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	testenv.WaitFor(t, timeout, fmt.Sprintf("pod %s/%s", ns, name), func() error {
		var err error
		pod, err = client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return ok(pod)
	})
	return pod
}

func waitNode(t *testing.T, client kubernetes.Interface, name string, timeout time.Duration, ok func(*corev1.Node) error) *corev1.Node {
	t.Helper()
	var node *corev1.Node
	testenv.WaitFor(t, timeout, "node "+name, func() error {
		var err error
		node, err = client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return ok(node)
	})
	return node
}

// containerIDs lists the IDs of pod's containers in the runtime.
func containerIDs(t *testing.T, ctd *testenv.Containerd, pod *corev1.Pod) []string {
	t.Helper()
	rt, _ := ctd.CRI(t)
	resp, err := rt.ListContainers(context.Background(), &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		LabelSelector: map[string]string{runstate.LabelPodUID: string(pod.UID)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range resp.GetContainers() {
		ids = append(ids, c.GetId())
	}
	return ids
}
