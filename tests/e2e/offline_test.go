package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-edge/tether/cloud/pkg/pki"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/tunnel"
	"github.com/tether-edge/tether/tests/testenv"
	"github.com/tether-edge/tether/tests/tunneltest"
)

const edgeNode = "edge-1"

// The whole path of issue 5 with the real binaries: a joined edgecore
// registers its Node and keeps it Ready; pods bound to it arrive in its
// SQLite store with the configmaps and secrets they use and nothing else;
// a forged node is refused; changes made while cloudcore is down converge;
// an edgecore restarted with the cloud away starts from its store; the
// Node turns NotReady once edgecore stops.
func TestEdgeNodeOnlineAndOffline(t *testing.T) {
	kube := testenv.StartKube(t, testenv.KubeOptions{
		ControllerManager:     true,
		ControllerManagerArgs: []string{"--node-monitor-period=1s", "--node-monitor-grace-period=8s"},
	})
	client := kube.Clientset(t)
	cloud := testenv.StartCloudcore(t, testenv.CloudcoreOptions{Bin: binDir, Kube: kube})
	edge := testenv.StartEdgecore(t, testenv.EdgecoreOptions{
		Bin: binDir, Cloud: cloud, NodeName: edgeNode, Token: cloud.JoinToken(t, time.Hour),
	})
	waitNodeReady(t, client, corev1.ConditionTrue, 60*time.Second)
	checkNodeRegistration(t, client)
	waitDefaultServiceAccount(t, client)

	create(t, client, &corev1.ConfigMap{ObjectMeta: meta("app-config"), Data: map[string]string{"mode": "v1"}})
	create(t, client, &corev1.Secret{ObjectMeta: meta("app-secret"), StringData: map[string]string{"password": "s3cret"}})
	create(t, client, &corev1.Secret{ObjectMeta: meta("unused-secret"), StringData: map[string]string{"x": "y"}})
	create(t, client, edgePod("app", "app-config", "app-secret"))

	t.Run("pod and what it uses reach the store", func(t *testing.T) {
		for _, key := range []string{"default/pod/app", "default/configmap/app-config", "default/secret/app-secret"} {
			waitStored(t, edge, key, "")
		}
	})
	t.Run("a configmap change reaches the edge", func(t *testing.T) {
		cm, err := client.CoreV1().ConfigMaps("default").Get(context.Background(), "app-config", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["mode"] = "v2"
		if _, err := client.CoreV1().ConfigMaps("default").Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitStored(t, edge, "default/configmap/app-config", `"mode": "v2"`)
	})
	t.Run("a secret no pod uses never reaches the edge", func(t *testing.T) {
		// The configmap update above was sent after the secret existed, so
		// the edge has seen everything the cloud would have sent by now.
		if out, err := edgeDB(edge, "get", "default/secret/unused-secret"); err == nil || !strings.Contains(out, "not found") {
			t.Fatalf("edgecore db get default/secret/unused-secret: err %v, output %s; want not found", err, out)
		}
	})
	t.Run("a forged node is refused and nothing changes", func(t *testing.T) {
		forgedNodeIsRefused(t, client, cloud)
	})

	t.Run("cloudcore restarted while objects change", func(t *testing.T) {
		if err := cloud.Process.Stop(); err != nil {
			t.Fatal(err)
		}
		create(t, client, &corev1.ConfigMap{ObjectMeta: meta("other-config"), Data: map[string]string{"k": "v"}})
		create(t, client, edgePod("app2", "other-config", ""))
		if err := client.CoreV1().Pods("default").Delete(context.Background(), "app", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
			t.Fatal(err)
		}
		cloud.Restart(t)
		waitStored(t, edge, "default/pod/app2", "")
		waitStored(t, edge, "default/configmap/other-config", "")
		for _, gone := range []string{"default/pod/app", "default/configmap/app-config", "default/secret/app-secret"} {
			waitGone(t, edge, gone)
		}
	})

	t.Run("edgecore restarted with the cloud away starts from its store", func(t *testing.T) {
		if err := cloud.Process.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := edge.Process.Stop(); err != nil {
			t.Fatal(err)
		}
		edge = testenv.StartEdgecore(t, testenv.EdgecoreOptions{
			Bin: binDir, Cloud: cloud, NodeName: edgeNode, PKIDir: edge.PKIDir, DBPath: edge.DBPath,
		})
		testenv.WaitLog(t, edge.Process, 20*time.Second, "loaded the local store")
		if log := edge.Tail(200); !strings.Contains(log, "pods=1") {
			t.Fatalf("edgecore did not load its pod from the store:\n%s", log)
		}
		waitStored(t, edge, "default/pod/app2", "")
		// Statuses made offline are kept in the store for the cloud.
		testenv.WaitFor(t, 20*time.Second, "kept statuses", func() error {
			out, err := edgeDB(edge, "statuses")
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			for _, key := range []string{"null/nodestatus/" + edgeNode, "kube-node-lease/lease/" + edgeNode} {
				if !strings.Contains(out, key) {
					return fmt.Errorf("%s not kept:\n%s", key, out)
				}
			}
			return nil
		})
		waitNodeReady(t, client, corev1.ConditionUnknown, 60*time.Second)

		cloud.Restart(t)
		waitNodeReady(t, client, corev1.ConditionTrue, 60*time.Second)
	})

	t.Run("the node turns NotReady after edgecore stops", func(t *testing.T) {
		if err := edge.Process.Stop(); err != nil {
			t.Fatal(err)
		}
		waitNodeReady(t, client, corev1.ConditionUnknown, 60*time.Second)
	})
}

// forgedNodeIsRefused connects as another node with a certificate from
// cloudcore's own CA and tries to write edge-1's status and read its
// secret: every attempt is denied and the apiserver keeps what it had.
func forgedNodeIsRefused(t *testing.T, client kubernetes.Interface, cloud *testenv.Cloudcore) {
	ctx := context.Background()
	ca, err := pki.EnsureCASecret(ctx, client, testenv.TetherNamespace, "tether-ca", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tunneltest.NodeCert(ca, "edge-forged")
	if err != nil {
		t.Fatal(err)
	}
	forged := tunneltest.StartEdge(t, &tunneltest.PKI{CA: ca}, tunneltest.EdgeOptions{
		Cert:      cert,
		Transport: tunnel.TransportWebSocket,
		Address:   fmt.Sprintf("127.0.0.1:%d", cloud.WebSocketPort),
	})
	select {
	case <-forged.Probe.Synced():
	case <-time.After(30 * time.Second):
		t.Fatal("the forged node never synced")
	}
	pod, err := client.CoreV1().Pods("default").Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	statusBefore := pod.Status.Phase

	send := func(res message.Resource, content string) {
		m := message.New(tunneltest.ProbeName, "edgehub", message.OpUpdate, res, []byte(content))
		m.Route.Group = kubemsg.Group
		if err := forged.Bus.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	send(message.Resource{Namespace: "default", Type: kubemsg.TypePodStatus, Name: "app"},
		fmt.Sprintf(`{"uid":%q,"status":{"phase":"Failed","reason":"Forged"}}`, pod.UID))
	send(message.Resource{Type: kubemsg.TypeNodeStatus, Name: edgeNode},
		`{"conditions":[{"type":"Ready","status":"False","reason":"Forged"}]}`)

	q := message.New(tunneltest.ProbeName, "edgehub", message.OpQuery, message.Resource{Namespace: "default", Type: kubemsg.TypeSecret, Name: "app-secret"}, nil)
	q.Route.Group = kubemsg.Group
	resp, err := forged.Bus.SendSync(ctx, q, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Route.Operation != message.OpError || !strings.Contains(string(resp.Content), "forbidden") || strings.Contains(string(resp.Content), "s3cret") {
		t.Fatalf("forged secret query answered %s %q; want a forbidden error", resp.Route.Operation, resp.Content)
	}

	testenv.WaitLog(t, cloud.Process, 20*time.Second, "denied")
	testenv.WaitFor(t, 20*time.Second, "three denials logged", func() error {
		if n := strings.Count(cloud.Tail(500), "denied"); n < 3 {
			return fmt.Errorf("%d denials logged", n)
		}
		return nil
	})
	pod, err = client.CoreV1().Pods("default").Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Status.Phase != statusBefore || pod.Status.Reason == "Forged" {
		t.Fatalf("the forged pod status was applied: %+v", pod.Status)
	}
	node, err := client.CoreV1().Nodes().Get(ctx, edgeNode, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range node.Status.Conditions {
		if c.Reason == "Forged" {
			t.Fatalf("the forged node status was applied: %+v", c)
		}
	}
	forged.Stop()
}

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default"}
}

// edgePod is a pod bound to the edge node that mounts configMap and, if
// set, reads secret into its environment.
func edgePod(name, configMap, secret string) *corev1.Pod {
	c := corev1.Container{Name: "main", Image: "busybox", VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/config"}}}
	if secret != "" {
		c.Env = []corev1.EnvVar{{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: "password"},
		}}}
	}
	return &corev1.Pod{
		ObjectMeta: meta(name),
		Spec: corev1.PodSpec{
			NodeName:   edgeNode,
			Containers: []corev1.Container{c},
			Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: configMap}},
			}}},
		},
	}
}

func create[T interface {
	*corev1.Pod | *corev1.ConfigMap | *corev1.Secret
}](t *testing.T, client kubernetes.Interface, obj T) {
	t.Helper()
	ctx := context.Background()
	var err error
	switch o := any(obj).(type) {
	case *corev1.Pod:
		_, err = client.CoreV1().Pods(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *corev1.ConfigMap:
		_, err = client.CoreV1().ConfigMaps(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *corev1.Secret:
		_, err = client.CoreV1().Secrets(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatalf("create: %v", err)
	}
}

// edgeDB runs `edgecore db` against the edge's store, as an operator would.
func edgeDB(edge *testenv.Edgecore, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(binDir, "edgecore"), append(append([]string{"db"}, args...), "--config", edge.ConfigPath)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitStored waits until the edge's store holds key, with contains in its
// printed JSON when contains is set.
func waitStored(t *testing.T, edge *testenv.Edgecore, key, contains string) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, key+" in the edge store", func() error {
		out, err := edgeDB(edge, "get", key)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if !strings.Contains(out, contains) {
			return fmt.Errorf("stored, but without %s:\n%s", contains, out)
		}
		return nil
	})
}

func waitGone(t *testing.T, edge *testenv.Edgecore, key string) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, key+" gone from the edge store", func() error {
		out, err := edgeDB(edge, "get", key)
		if err == nil || !strings.Contains(out, "not found") {
			return fmt.Errorf("still there (err %v): %s", err, out)
		}
		return nil
	})
}

func waitNodeReady(t *testing.T, client kubernetes.Interface, want corev1.ConditionStatus, timeout time.Duration) {
	t.Helper()
	testenv.WaitFor(t, timeout, fmt.Sprintf("node %s Ready=%s", edgeNode, want), func() error {
		node, err := client.CoreV1().Nodes().Get(context.Background(), edgeNode, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				if c.Status != want {
					return fmt.Errorf("Ready=%s (%s: %s)", c.Status, c.Reason, c.Message)
				}
				return nil
			}
		}
		return fmt.Errorf("no Ready condition yet")
	})
}

// checkNodeRegistration checks what the edge registered: the edge role
// labels, capacity and node info.
func checkNodeRegistration(t *testing.T, client kubernetes.Interface) {
	t.Helper()
	node, err := client.CoreV1().Nodes().Get(context.Background(), edgeNode, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"node-role.kubernetes.io/edge", "node-role.kubernetes.io/agent"} {
		if _, ok := node.Labels[l]; !ok {
			t.Errorf("node has no label %s: %v", l, node.Labels)
		}
	}
	if node.Status.Capacity.Cpu().IsZero() || node.Status.Capacity.Memory().IsZero() || node.Status.NodeInfo.KernelVersion == "" {
		t.Errorf("node status lacks capacity or node info: %+v", node.Status)
	}
	var internal bool
	for _, a := range node.Status.Addresses {
		internal = internal || a.Type == corev1.NodeInternalIP
	}
	if !internal {
		t.Errorf("node has no InternalIP: %v", node.Status.Addresses)
	}
	lease, err := client.CoordinationV1().Leases(kubemsg.LeaseNamespace).Get(context.Background(), edgeNode, metav1.GetOptions{})
	if err != nil || lease.Spec.RenewTime == nil {
		t.Errorf("node lease: %v %+v", err, lease)
	}
}

func waitDefaultServiceAccount(t *testing.T, client kubernetes.Interface) {
	t.Helper()
	testenv.WaitFor(t, 60*time.Second, "the default service account", func() error {
		_, err := client.CoreV1().ServiceAccounts("default").Get(context.Background(), "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("not created yet")
		}
		return err
	})
}
