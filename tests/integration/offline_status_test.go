package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/cloud/pkg/cloudhub"
	"github.com/tether-edge/tether/cloud/pkg/edgecontroller"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edgehub"
	"github.com/tether-edge/tether/edge/pkg/metamanager"
	"github.com/tether-edge/tether/tests/testenv"
	"github.com/tether-edge/tether/tests/tunneltest"
)

const offlineNode = "edge-offline"

// Pod statuses an edge produces while the cloud is away, across an edge
// restart, reach the apiserver once the cloud returns, and the newest
// wins: real EdgeController and CloudHub, real EdgeHub and MetaManager on
// a real SQLite file, real TLS and kube-apiserver.
func TestStatusesMadeOfflineArriveNewestWins(t *testing.T) {
	kube := testenv.StartKube(t, testenv.KubeOptions{APIServerArgs: []string{"--disable-admission-plugins=ServiceAccount"}})
	client := kube.Clientset(t)
	ctx := context.Background()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: offlineNode, Labels: map[string]string{"node-role.kubernetes.io/edge": ""}}}
	if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "worker", Namespace: "default"},
		Spec:       corev1.PodSpec{NodeName: offlineNode, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	pod, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	pki := tunneltest.NewPKI(t)
	cloudAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePorts(t, 1)[0])
	dbPath := filepath.Join(t.TempDir(), "edge.db")
	podKey := message.Resource{Namespace: "default", Type: kubemsg.TypePod, Name: "worker"}

	stopCloud := startOfflineCloud(t, pki, client, cloudAddr)
	edge := startOfflineEdge(t, pki, cloudAddr, dbPath)
	testenv.WaitFor(t, 30*time.Second, "the pod in the edge store", func() error {
		_, err := edge.store.Get(ctx, podKey)
		return err
	})

	stopCloud()
	base := time.Now().UnixMilli()
	edge.podStatus(t, pod, base+1, corev1.PodPending, "Scheduled")
	edge.podStatus(t, pod, base+3, corev1.PodRunning, "Started")
	waitKept(t, edge.store, base+3)
	edge.stop()

	// Restarted with the cloud still away: the kept status survives, and
	// one made earlier than it is dropped.
	edge = startOfflineEdge(t, pki, cloudAddr, dbPath)
	edge.podStatus(t, pod, base+2, corev1.PodFailed, "Stale")
	waitKept(t, edge.store, base+3)

	startOfflineCloud(t, pki, client, cloudAddr)
	testenv.WaitFor(t, 30*time.Second, "the newest offline status in the apiserver", func() error {
		got, err := client.CoreV1().Pods("default").Get(ctx, "worker", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got.Status.Phase != corev1.PodRunning || got.Status.Reason != "Started" {
			return fmt.Errorf("phase %s reason %q", got.Status.Phase, got.Status.Reason)
		}
		return nil
	})
}

// waitKept waits until the edge store keeps exactly one pod status, made
// at ts.
func waitKept(t *testing.T, store *metamanager.Store, ts int64) {
	t.Helper()
	testenv.WaitFor(t, 10*time.Second, fmt.Sprintf("the pod status of %d kept", ts), func() error {
		kept, err := store.Statuses(context.Background())
		if err != nil {
			return err
		}
		for _, m := range kept {
			if m.Route.Resource.Type == kubemsg.TypePodStatus {
				if m.Header.Timestamp != ts {
					return fmt.Errorf("kept the status of %d", m.Header.Timestamp)
				}
				return nil
			}
		}
		return fmt.Errorf("no pod status kept among %d", len(kept))
	})
}

// startOfflineCloud runs CloudHub and EdgeController against the
// apiserver on addr and returns its stop.
func startOfflineCloud(t *testing.T, pki *tunneltest.PKI, client kubernetes.Interface, addr string) (stop func()) {
	t.Helper()
	bus, err := beehive.New(beehive.Options{Logger: tunneltest.Logger(), QueueSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	ctrl, err := edgecontroller.New(edgecontroller.Options{Bus: bus, Client: client, Logger: tunneltest.Logger(), Hub: cloudhub.Name})
	if err != nil {
		t.Fatal(err)
	}
	hub, err := cloudhub.New(cloudhub.Options{
		Bus: bus, ServerCert: pki.Serving, ClientCAs: pki.CA.Pool(), WebSocketAddress: addr,
		NodeLimit: 10, KeepalivePeriod: time.Second, RequestTimeout: 5 * time.Second,
		Logger: tunneltest.Logger(), Ready: ctrl.Synced(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []beehive.Module{hub, ctrl} {
		if err := bus.Register(m, beehive.Policy{OnError: beehive.StopProcess}); err != nil {
			t.Fatal(err)
		}
	}
	return tunneltest.Run(t, bus)
}

type offlineEdge struct {
	bus   *beehive.Bus
	store *metamanager.Store
	stop  func()
}

// startOfflineEdge runs EdgeHub and MetaManager over the SQLite file at
// dbPath, dialing the cloud at addr.
func startOfflineEdge(t *testing.T, pki *tunneltest.PKI, addr, dbPath string) *offlineEdge {
	t.Helper()
	store, err := metamanager.OpenStore(metamanager.StoreOptions{Path: dbPath, Logger: tunneltest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	bus, err := beehive.New(beehive.Options{Logger: tunneltest.Logger(), QueueSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := metamanager.New(metamanager.Options{Bus: bus, Store: store, Logger: tunneltest.Logger(), Hub: edgehub.Name, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hub, err := edgehub.New(edgehub.Options{
		Bus: bus, Store: meta, Logger: tunneltest.Logger(),
		Certs:     tunneltest.StaticCerts{Cert: pki.NodeCert(t, offlineNode), Roots: pki.CA.Pool()},
		Transport: "websocket", Address: addr, ServerName: "127.0.0.1",
		KeepalivePeriod: time.Second, ReconnectInitial: 50 * time.Millisecond, ReconnectMax: 500 * time.Millisecond,
		UpstreamQPS: 1000, UpstreamBurst: 1000, RequestTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []beehive.Module{meta, hub} {
		if err := bus.Register(m, beehive.Policy{OnError: beehive.StopProcess}); err != nil {
			t.Fatal(err)
		}
	}
	stopBus := tunneltest.Run(t, bus)
	e := &offlineEdge{bus: bus, store: store}
	e.stop = func() {
		stopBus()
		if err := store.Close(); err != nil {
			t.Errorf("close the store: %v", err)
		}
	}
	t.Cleanup(e.stop)
	return e
}

// podStatus reports pod's status as made at ts, as Edged would.
func (e *offlineEdge) podStatus(t *testing.T, pod *corev1.Pod, ts int64, phase corev1.PodPhase, reason string) {
	t.Helper()
	content, err := json.Marshal(kubemsg.PodStatusReport{UID: pod.UID, Status: corev1.PodStatus{Phase: phase, Reason: reason}})
	if err != nil {
		t.Fatal(err)
	}
	m := message.New("edged", metamanager.Name, message.OpUpdate,
		message.Resource{Namespace: pod.Namespace, Type: kubemsg.TypePodStatus, Name: pod.Name}, content)
	m.Route.Group = kubemsg.Group
	m.Header.Timestamp = ts
	if err := e.bus.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}
