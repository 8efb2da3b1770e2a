package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/cloud/pkg/edgecontroller"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/tests/testenv"
)

// upWait bounds each wait for the apiserver or the controller.
const upWait = 30 * time.Second

// upClock is EdgeController's clock for lease renewals; the test moves it.
type upClock struct{ now atomic.Int64 }

func (c *upClock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *upClock) Advance(d time.Duration) { c.now.Add(int64(d)) }

// upEdge sends what CloudHub delivers from one edge node.
type upEdge struct {
	t    *testing.T
	bus  *beehive.Bus
	node string
}

func (e *upEdge) resource(ns, typ, name string) message.Resource {
	return message.Resource{Node: e.node, Namespace: ns, Type: typ, Name: name}
}

func (e *upEdge) content(v any) []byte {
	e.t.Helper()
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// status sends a one-way status, as CloudHub delivers a sequenced one.
func (e *upEdge) status(ns, typ, name string, v any) {
	e.t.Helper()
	m := message.NewToGroup("cloudhub", kubemsg.Group, message.OpUpdate, e.resource(ns, typ, name), e.content(v))
	ctx, cancel := context.WithTimeout(context.Background(), upWait)
	defer cancel()
	if err := e.bus.SendToGroup(ctx, m); err != nil {
		e.t.Fatalf("send %s: %v", m.Route.Resource, err)
	}
}

// request sends a request as CloudHub forwards one and returns the answer.
func (e *upEdge) request(op message.Operation, ns, typ, name string, v any) message.Message {
	e.t.Helper()
	m := message.NewToGroup("cloudhub", kubemsg.Group, op, e.resource(ns, typ, name), e.content(v))
	resp, err := e.bus.SendSync(context.Background(), m, upWait)
	if err != nil {
		e.t.Fatalf("%s %s: %v", op, m.Route.Resource, err)
	}
	return resp
}

// answer is request that fails the test unless the answer is OpResponse,
// and decodes it into out.
func (e *upEdge) answer(op message.Operation, ns, typ, name string, v, out any) {
	e.t.Helper()
	resp := e.request(op, ns, typ, name, v)
	if resp.Route.Operation != message.OpResponse {
		e.t.Fatalf("%s %s/%s/%s answered %s: %s", op, ns, typ, name, resp.Route.Operation, resp.Content)
	}
	if err := json.Unmarshal(resp.Content, out); err != nil {
		e.t.Fatalf("%s %s/%s/%s answer %s: %v", op, ns, typ, name, resp.Content, err)
	}
}

// forbidden is request that fails the test unless the answer is a denial.
func (e *upEdge) forbidden(op message.Operation, ns, typ, name string, v any) {
	e.t.Helper()
	resp := e.request(op, ns, typ, name, v)
	if resp.Route.Operation != message.OpError || !strings.HasPrefix(string(resp.Content), "forbidden: ") {
		e.t.Errorf("%s %s/%s/%s answered %s %q, want forbidden", op, ns, typ, name, resp.Route.Operation, resp.Content)
	}
}

func TestEdgeControllerUpstream(t *testing.T) {
	t.Parallel()
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	cs := kube.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	testenv.WaitFor(t, upWait, "the default and kube-node-lease namespaces", func() error {
		for _, ns := range []string{"default", kubemsg.LeaseNamespace} {
			if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
	clock := &upClock{}
	clock.now.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	ctrl, bus, _ := startEdgeController(t, edgecontroller.Options{Client: cs, Workers: 4, Now: clock.Now})
	a := &upEdge{t: t, bus: bus, node: "edge-a"}

	nodeA := testUpRegister(ctx, t, cs, a)
	testUpNodeStatus(ctx, t, cs, a)
	testUpLease(ctx, t, cs, a, clock, nodeA.UID)

	f := upFixture(ctx, t, cs)
	// The configmap query is allowed once the index holds pod-a: wait for
	// that (its refusals before count as denials, hence the differences
	// below).
	var cm corev1.ConfigMap
	testenv.WaitFor(t, upWait, "the index to hold pod-a", func() error {
		resp := a.request(message.OpQuery, "default", kubemsg.TypeConfigMap, "cfg-a", nil)
		if resp.Route.Operation != message.OpResponse {
			return fmt.Errorf("%s", resp.Content)
		}
		return json.Unmarshal(resp.Content, &cm)
	})
	if cm.Data["greeting"] != "hello" || cm.Kind != "ConfigMap" || cm.APIVersion != "v1" || cm.ManagedFields != nil {
		t.Errorf("configmap answer %+v", cm)
	}
	b := &upEdge{t: t, bus: bus, node: "edge-b"}
	testenv.WaitFor(t, upWait, "the index to hold pod-b", func() error {
		if resp := b.request(message.OpQuery, "default", kubemsg.TypeSecret, "sec-b", nil); resp.Route.Operation != message.OpResponse {
			return fmt.Errorf("%s", resp.Content)
		}
		return nil
	})

	testUpPodStatus(ctx, t, cs, a, f.podA)
	testUpToken(t, a, f.podA)
	testUpEvent(ctx, t, cs, a, f.podA)
	testUpDenied(ctx, t, cs, ctrl, a, f)
}

// testUpRegister: registering creates the Node with both edge labels and
// the edge's own; registering again adds labels and keeps the rest.
func testUpRegister(ctx context.Context, t *testing.T, cs kubernetes.Interface, a *upEdge) *corev1.Node {
	t.Helper()
	sent := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "edge-a", Labels: map[string]string{"site": "plant-1"}},
		Status:     corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}},
	}
	var answered corev1.Node
	a.answer(message.OpInsert, "", kubemsg.TypeNode, "edge-a", sent, &answered)
	node, err := cs.CoreV1().Nodes().Get(ctx, "edge-a", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("registered Node: %v", err)
	}
	for k, v := range map[string]string{"node-role.kubernetes.io/edge": "", "node-role.kubernetes.io/agent": "", "site": "plant-1"} {
		if got, ok := node.Labels[k]; !ok || got != v {
			t.Errorf("registered Node label %s = %q, %v; labels %v", k, got, ok, node.Labels)
		}
	}
	if answered.UID != node.UID || answered.Kind != "Node" {
		t.Errorf("answer uid %s kind %q, want the Node's %s", answered.UID, answered.Kind, node.UID)
	}
	// The cloud's own condition must survive the edge's status reports.
	node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{
		Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse, Reason: "RouteCreated"})
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	sent.Labels = map[string]string{"zone": "north"} // and no edge labels
	a.answer(message.OpInsert, "", kubemsg.TypeNode, "edge-a", sent, &answered)
	node, err = cs.CoreV1().Nodes().Get(ctx, "edge-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node.Labels["zone"] != "north" || node.Labels["site"] != "plant-1" || len(node.Status.Conditions) != 1 {
		t.Errorf("registered again: labels %v conditions %v", node.Labels, node.Status.Conditions)
	}
	return node
}

func testUpNodeStatus(ctx context.Context, t *testing.T, cs kubernetes.Interface, a *upEdge) {
	t.Helper()
	a.status("", kubemsg.TypeNodeStatus, "edge-a", corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "EdgeReady",
			LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
		Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("110")},
		Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3500m"), corev1.ResourcePods: resource.MustParse("110")},
		Addresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.0.2.10"}},
		NodeInfo:    corev1.NodeSystemInfo{KubeletVersion: "v1.37.2-tether", Architecture: "arm64"},
	})
	testenv.WaitFor(t, upWait, "edge-a's status", func() error {
		n, err := cs.CoreV1().Nodes().Get(ctx, "edge-a", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !testenv.NodeReady(n) || n.Status.Capacity.Cpu().Cmp(resource.MustParse("4")) != 0 {
			return fmt.Errorf("conditions %v capacity %v", n.Status.Conditions, n.Status.Capacity)
		}
		if len(n.Status.Conditions) != 2 || n.Status.NodeInfo.Architecture != "arm64" || len(n.Status.Addresses) != 1 {
			return fmt.Errorf("conditions %v nodeInfo %+v addresses %v", n.Status.Conditions, n.Status.NodeInfo, n.Status.Addresses)
		}
		return nil
	})
}

func testUpLease(ctx context.Context, t *testing.T, cs kubernetes.Interface, a *upEdge, clock *upClock, nodeUID types.UID) {
	t.Helper()
	for i := range 2 {
		want := clock.Now()
		a.status(kubemsg.LeaseNamespace, kubemsg.TypeLease, "edge-a", kubemsg.LeaseRenewal{DurationSeconds: 40})
		testenv.WaitFor(t, upWait, fmt.Sprintf("lease renewal %d", i+1), func() error {
			l, err := cs.CoordinationV1().Leases(kubemsg.LeaseNamespace).Get(ctx, "edge-a", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if l.Spec.RenewTime == nil || !l.Spec.RenewTime.Time.Equal(want) {
				return fmt.Errorf("renewTime %v, want %v", l.Spec.RenewTime, want)
			}
			if *l.Spec.HolderIdentity != "edge-a" || *l.Spec.LeaseDurationSeconds != 40 {
				return fmt.Errorf("spec %+v", l.Spec)
			}
			if len(l.OwnerReferences) != 1 || l.OwnerReferences[0].UID != nodeUID || l.OwnerReferences[0].Kind != "Node" {
				return fmt.Errorf("owners %+v", l.OwnerReferences)
			}
			return nil
		})
		clock.Advance(10 * time.Second)
	}
}

// upPods is what the rest of the test works on: pod-a on edge-a uses
// cfg-a and sec-a; pod-b on edge-b uses sec-b.
type upPods struct {
	podA, podB *corev1.Pod
}

func upFixture(ctx context.Context, t *testing.T, cs kubernetes.Interface) upPods {
	t.Helper()
	core := cs.CoreV1()
	// Nothing runs the service-account controller: make the account the
	// admission plugin asks for.
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(core.ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}))
	must(core.Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "edge-b",
		Labels: map[string]string{"node-role.kubernetes.io/edge": ""}}}, metav1.CreateOptions{}))
	must(core.ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg-a"},
		Data: map[string]string{"greeting": "hello"}}, metav1.CreateOptions{}))
	for _, s := range []string{"sec-a", "sec-b"} {
		must(core.Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: s},
			Data: map[string][]byte{"k": []byte(s)}}, metav1.CreateOptions{}))
	}
	pod := func(name, node string, volumes ...corev1.Volume) *corev1.Pod {
		t.Helper()
		p, err := core.Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{NodeName: node, Volumes: volumes,
				Containers: []corev1.Container{{Name: "c", Image: testenv.BusyboxImage}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create pod %s: %v", name, err)
		}
		return p
	}
	return upPods{
		podA: pod("pod-a", "edge-a",
			corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg-a"}}}},
			corev1.Volume{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec-a"}}}),
		podB: pod("pod-b", "edge-b",
			corev1.Volume{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec-b"}}}),
	}
}

func testUpPodStatus(ctx context.Context, t *testing.T, cs kubernetes.Interface, a *upEdge, pod *corev1.Pod) {
	t.Helper()
	a.status("default", kubemsg.TypePodStatus, pod.Name, kubemsg.PodStatusReport{UID: pod.UID, Status: corev1.PodStatus{
		Phase:      corev1.PodRunning,
		PodIP:      "10.88.0.7",
		PodIPs:     []corev1.PodIP{{IP: "10.88.0.7"}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
	}})
	testenv.WaitFor(t, upWait, "pod-a running", func() error {
		p, err := cs.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP != "10.88.0.7" {
			return fmt.Errorf("phase %q podIP %q", p.Status.Phase, p.Status.PodIP)
		}
		return nil
	})
}

func testUpToken(t *testing.T, a *upEdge, pod *corev1.Pod) {
	t.Helper()
	var ans kubemsg.TokenAnswer
	a.answer(message.OpQuery, "default", kubemsg.TypeToken, "default",
		kubemsg.TokenQuery{Pod: pod.Name, PodUID: pod.UID, Audiences: []string{"tether-test"}}, &ans)
	parts := strings.Split(ans.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", ans.Token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var claims struct {
		Aud []string `json:"aud"`
		Iat int64    `json:"iat"`
		Exp int64    `json:"exp"`
		K8s struct {
			Namespace string `json:"namespace"`
			Pod       struct {
				Name string `json:"name"`
				UID  string `json:"uid"`
			} `json:"pod"`
			ServiceAccount struct {
				Name string `json:"name"`
			} `json:"serviceaccount"`
		} `json:"kubernetes.io"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("JWT claims %s: %v", payload, err)
	}
	if claims.K8s.Pod.Name != pod.Name || claims.K8s.Pod.UID != string(pod.UID) || claims.K8s.ServiceAccount.Name != "default" {
		t.Errorf("token claims %s: want bound to pod %s (%s) as default", payload, pod.Name, pod.UID)
	}
	if len(claims.Aud) != 1 || claims.Aud[0] != "tether-test" || claims.Exp-claims.Iat != 3600 {
		t.Errorf("token aud %v lifetime %ds, want tether-test and 3600s", claims.Aud, claims.Exp-claims.Iat)
	}
	if d := time.Until(ans.ExpirationTimestamp); d < 50*time.Minute || d > 61*time.Minute {
		t.Errorf("token expires in %v", d)
	}
}

func testUpEvent(ctx context.Context, t *testing.T, cs kubernetes.Interface, a *upEdge, pod *corev1.Pod) {
	t.Helper()
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "pod-a.pulled", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: pod.Name, UID: pod.UID, APIVersion: "v1"},
		Reason:         "Pulled", Message: "pulled busybox", Type: corev1.EventTypeNormal, Count: 1,
		Source:         corev1.EventSource{Component: "edged", Host: "forged"},
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(),
	}
	var got corev1.Event
	a.answer(message.OpInsert, "default", kubemsg.TypeEvent, ev.Name, ev, &got)
	if got.Source.Host != "edge-a" || got.Count != 1 {
		t.Errorf("created event source %+v count %d", got.Source, got.Count)
	}
	ev.Count, ev.Message = 3, "pulled busybox again"
	a.answer(message.OpInsert, "default", kubemsg.TypeEvent, ev.Name, ev, &got)
	stored, err := cs.CoreV1().Events("default").Get(ctx, ev.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if stored.Count != 3 || stored.Message != ev.Message || stored.Source.Host != "edge-a" || stored.Reason != "Pulled" {
		t.Errorf("repeated event count %d message %q source %+v", stored.Count, stored.Message, stored.Source)
	}
}

// testUpDenied: what edge-a may not do changes nothing and is counted.
func testUpDenied(ctx context.Context, t *testing.T, cs kubernetes.Interface, ctrl *edgecontroller.Controller, a *upEdge, f upPods) {
	t.Helper()
	before := ctrl.Denials()
	podB := f.podB
	a.status("default", kubemsg.TypePodStatus, podB.Name, kubemsg.PodStatusReport{UID: podB.UID,
		Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Forged"}})
	a.status("", kubemsg.TypeNodeStatus, "edge-b", corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "Forged"}}})
	a.status(kubemsg.LeaseNamespace, kubemsg.TypeLease, "edge-b", kubemsg.LeaseRenewal{DurationSeconds: 40})
	a.forbidden(message.OpQuery, "default", kubemsg.TypeSecret, "sec-b", nil)
	a.forbidden(message.OpInsert, "default", kubemsg.TypeEvent, "pod-b.forged", &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "pod-b.forged", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: podB.Name, UID: podB.UID},
		Reason:         "Forged", Message: "forged", Type: corev1.EventTypeWarning,
	})
	a.forbidden(message.OpQuery, "default", kubemsg.TypeToken, "default", kubemsg.TokenQuery{Pod: podB.Name, PodUID: podB.UID})
	a.forbidden(message.OpInsert, "", kubemsg.TypeNode, "edge-b", &corev1.Node{})
	// An event of edge-a's pod, but under the name of one another host
	// reported: edge-a may not fold its repeats into it.
	taken := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "pod-a.taken", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: f.podA.Name, UID: f.podA.UID},
		Reason:         "Scheduled", Message: "original", Type: corev1.EventTypeNormal, Count: 1,
		Source: corev1.EventSource{Component: "scheduler", Host: "control-plane"},
	}
	if _, err := cs.CoreV1().Events("default").Create(ctx, taken, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	repeat := taken.DeepCopy()
	repeat.Message, repeat.Count = "overwritten", 9
	a.forbidden(message.OpInsert, "default", kubemsg.TypeEvent, taken.Name, repeat)
	// edge-a's messages are applied in order: the statuses before the
	// requests are done once the requests are answered.
	if got := ctrl.Denials() - before; got != 8 {
		t.Errorf("denials = %d, want 8", got)
	}
	if ev, err := cs.CoreV1().Events("default").Get(ctx, taken.Name, metav1.GetOptions{}); err != nil || ev.Message != "original" || ev.Count != 1 {
		t.Errorf("another host's event after edge-a's repeat: %v %+v", err, ev)
	}

	p, err := cs.CoreV1().Pods("default").Get(ctx, podB.Name, metav1.GetOptions{})
	if err != nil || p.Status.Phase == corev1.PodFailed || p.Status.Reason == "Forged" {
		t.Errorf("pod-b after a forged status: %v %+v", err, p.Status)
	}
	n, err := cs.CoreV1().Nodes().Get(ctx, "edge-b", metav1.GetOptions{})
	if err != nil || len(n.Status.Conditions) != 0 {
		t.Errorf("edge-b after a forged status: %v %+v", err, n.Status.Conditions)
	}
	if _, ok := n.Labels["node-role.kubernetes.io/agent"]; ok {
		t.Error("edge-b registered by edge-a")
	}
	if _, err := cs.CoordinationV1().Leases(kubemsg.LeaseNamespace).Get(ctx, "edge-b", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("edge-b's lease: %v, want not found", err)
	}
	evs, err := cs.CoreV1().Events("default").List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.name", podB.Name).String()})
	if err != nil || len(evs.Items) != 0 {
		t.Errorf("events about pod-b: %v %d", err, len(evs.Items))
	}
}
