package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/cloud/pkg/edgecontroller"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/tests/testenv"
	"github.com/tether-edge/tether/tests/tunneltest"
)

// downWait bounds each wait for the apiserver or the controller.
const downWait = 30 * time.Second

// downNS holds the test's objects.
const downNS = "down"

// recordingHub stands in for CloudHub: it records the desired-set
// messages EdgeController sends it.
type recordingHub struct {
	bus *beehive.Bus

	// mu guards got.
	mu  sync.Mutex
	got []message.Message
}

func (h *recordingHub) Name() string  { return "hub" }
func (h *recordingHub) Group() string { return "" }
func (h *recordingHub) Start(ctx context.Context) error {
	for {
		m, err := h.bus.Receive(ctx, "hub")
		if err != nil {
			return nil
		}
		h.mu.Lock()
		h.got = append(h.got, m)
		h.mu.Unlock()
	}
}

func (h *recordingHub) messages() []message.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]message.Message(nil), h.got...)
}

// set replays what node was sent as the hub keeps it: edge key →
// resourceVersion.
func (h *recordingHub) set(node string) map[message.Resource]string {
	set := map[message.Resource]string{}
	for _, m := range h.messages() {
		if m.Route.Resource.Node != node {
			continue
		}
		if m.Route.Operation == message.OpDelete {
			delete(set, m.Route.Resource.WithoutNode())
		} else {
			set[m.Route.Resource.WithoutNode()] = m.Header.ResourceVersion
		}
	}
	return set
}

func (h *recordingHub) waitSet(t *testing.T, node string, want map[message.Resource]string) {
	t.Helper()
	testenv.WaitFor(t, downWait, "the desired set of "+node, func() error {
		if got := h.set(node); !maps.Equal(got, want) {
			return fmt.Errorf("set %v, want %v", got, want)
		}
		return nil
	})
}

func downKey(typ, name string) message.Resource {
	if typ == "node" {
		return message.Resource{Type: typ, Name: name}
	}
	return message.Resource{Namespace: downNS, Type: typ, Name: name}
}

// startEdgeController runs EdgeController (o with its Bus, Logger and
// Hub filled in) and a recording hub on a real bus until the test ends,
// and waits until the controller is synced.
func startEdgeController(t *testing.T, o edgecontroller.Options) (*edgecontroller.Controller, *beehive.Bus, *recordingHub) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	bus, err := beehive.New(beehive.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	o.Bus, o.Logger, o.Hub = bus, log, "hub"
	ctrl, err := edgecontroller.New(o)
	if err != nil {
		t.Fatal(err)
	}
	hub := &recordingHub{bus: bus}
	for _, m := range []beehive.Module{hub, ctrl} {
		if err := bus.Register(m, beehive.Policy{OnError: beehive.StopProcess}); err != nil {
			t.Fatal(err)
		}
	}
	tunneltest.Run(t, bus)
	start := time.Now()
	select {
	case <-ctrl.Synced():
		t.Logf("EdgeController synced in %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(downWait):
		t.Fatal("EdgeController not synced")
	}
	return ctrl, bus, hub
}

// TestEdgeControllerDownstream: against a real apiserver, an edge node's
// desired set (its Node, its pods, the configmaps and secrets they use)
// reaches the hub, follows changes, and nothing else is sent.
func TestEdgeControllerDownstream(t *testing.T) {
	t.Parallel()
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	cs := kube.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	core := cs.CoreV1()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// Everything exists before the controller starts.
	must(core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: downNS}}, metav1.CreateOptions{}))
	// Nothing runs the service-account controller: make the account the
	// admission plugin asks for.
	must(core.ServiceAccounts(downNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}))
	edgeNode, err := core.Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "edge-1",
		Labels: map[string]string{"node-role.kubernetes.io/edge": ""}}}, metav1.CreateOptions{})
	must(edgeNode, err)
	must(core.Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "cloud-1"}}, metav1.CreateOptions{}))
	cfg, err := core.ConfigMaps(downNS).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data: map[string]string{"greeting": "hello"}}, metav1.CreateOptions{})
	must(cfg, err)
	sec, err := core.Secrets(downNS).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"},
		Data: map[string][]byte{"password": []byte("s3cret")}}, metav1.CreateOptions{})
	must(sec, err)
	must(core.Secrets(downNS).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unused"},
		Data: map[string][]byte{"k": []byte("v")}}, metav1.CreateOptions{}))
	web, err := core.Pods(downNS).Create(ctx, downPod("web", "edge-1"), metav1.CreateOptions{})
	must(web, err)
	must(core.Pods(downNS).Create(ctx, downPod("other", "cloud-1"), metav1.CreateOptions{}))

	_, _, hub := startEdgeController(t, edgecontroller.Options{Client: cs})
	hub.waitSet(t, "edge-1", map[message.Resource]string{
		downKey("node", "edge-1"):   edgeNode.ResourceVersion,
		downKey("pod", "web"):       web.ResourceVersion,
		downKey("configmap", "cfg"): cfg.ResourceVersion,
		downKey("secret", "sec"):    sec.ResourceVersion,
	})

	// A change of the configmap is an update with its new resourceVersion.
	cfg.Data["greeting"] = "bonjour"
	cfg, err = core.ConfigMaps(downNS).Update(ctx, cfg, metav1.UpdateOptions{})
	must(cfg, err)
	testenv.WaitFor(t, downWait, "the configmap's update", func() error {
		for _, m := range hub.messages() {
			if m.Route.Operation == message.OpUpdate && m.Route.Resource == downKey("configmap", "cfg").OnNode("edge-1") &&
				m.Header.ResourceVersion == cfg.ResourceVersion {
				return nil
			}
		}
		return fmt.Errorf("no update of cfg at resourceVersion %s", cfg.ResourceVersion)
	})

	// Deleting the pod takes it, and what only it used, out of the set.
	zero := int64(0) // no kubelet confirms a graceful deletion
	if err := core.Pods(downNS).Delete(ctx, "web", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	hub.waitSet(t, "edge-1", map[message.Resource]string{downKey("node", "edge-1"): edgeNode.ResourceVersion})
	if !hub.deleted("edge-1", downKey("pod", "web"), downKey("configmap", "cfg"), downKey("secret", "sec")) {
		t.Error("the pod, configmap and secret were not deleted by name")
	}

	for _, m := range hub.messages() {
		checkDownMessage(t, m)
	}
}

// deleted reports whether node was sent a delete for each key.
func (h *recordingHub) deleted(node string, keys ...message.Resource) bool {
	seen := map[message.Resource]bool{}
	for _, m := range h.messages() {
		if m.Route.Operation == message.OpDelete && m.Route.Resource.Node == node {
			seen[m.Route.Resource.WithoutNode()] = true
		}
	}
	for _, k := range keys {
		if !seen[k] {
			return false
		}
	}
	return true
}

// checkDownMessage: nothing for the non-edge node or its pod, nor the
// unused secret; every upsert carries apiVersion, kind and uid, and no
// managedFields.
func checkDownMessage(t *testing.T, m message.Message) {
	t.Helper()
	res := m.Route.Resource
	if res.Node != "edge-1" || res.Name == "other" || res.Name == "unused" || res.Name == "cloud-1" {
		t.Errorf("sent %s %s", m.Route.Operation, res)
	}
	if m.Route.Operation == message.OpDelete {
		return
	}
	var obj struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(m.Content, &obj); err != nil {
		t.Fatalf("%s: %v", res, err)
	}
	if obj.APIVersion != "v1" || obj.Kind == "" || obj.Metadata.UID == "" || obj.Metadata.ManagedFields != nil ||
		obj.Metadata.ResourceVersion != m.Header.ResourceVersion {
		t.Errorf("%s %s: apiVersion %q kind %q uid %q managedFields %d resourceVersion %q (header %q)", m.Route.Operation, res,
			obj.APIVersion, obj.Kind, obj.Metadata.UID, len(obj.Metadata.ManagedFields), obj.Metadata.ResourceVersion, m.Header.ResourceVersion)
	}
}

// downPod is a pod bound to node that uses the configmap cfg as a volume
// and the secret sec as an env var.
func downPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			NodeName: node,
			Volumes: []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}},
			Containers: []corev1.Container{{Name: "c", Image: testenv.BusyboxImage,
				Env: []corev1.EnvVar{{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "password"}}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/cfg"}}}},
		},
	}
}
