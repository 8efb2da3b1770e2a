package edgecontroller

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tether-edge/tether/common/kubemsg"
)

// applyPatch applies a strategic merge patch to obj as the apiserver
// would, and decodes the result into out.
func applyPatch(t *testing.T, obj any, patch []byte, schema any, out any) {
	t.Helper()
	orig, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	patched, err := strategicpatch.StrategicMergePatch(orig, patch, schema)
	if err != nil {
		t.Fatalf("apply patch %s: %v", patch, err)
	}
	if err := json.Unmarshal(patched, out); err != nil {
		t.Fatal(err)
	}
}

func clusterNode() *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "edge-a", UID: "node-uid", ResourceVersion: "7", Labels: map[string]string{"x": "y"}},
		Spec:       corev1.NodeSpec{PodCIDR: "10.0.0.0/24"},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown"},
				{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse, Reason: "RouteCreated"},
			},
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU:   resource.MustParse("2"),
				"example.com/dongle": resource.MustParse("4"),
			},
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: "10.0.0.1"},
				{Type: corev1.NodeInternalIP, Address: "fd00::1"},
			},
			VolumesAttached: []corev1.AttachedVolume{{Name: "vol-1", DevicePath: "/dev/sdb"}},
		},
	}
}

func TestNodeStatusPatch(t *testing.T) {
	old := clusterNode()
	reported := corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}},
		Capacity:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("110")},
		Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.2"}},
		NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "tether"},
		Images:     []corev1.ContainerImage{{Names: []string{"busybox"}}},
		// Not the edge's: must not reach the cluster.
		VolumesAttached: nil,
		Phase:           corev1.NodeTerminated,
	}
	patch, err := nodeStatusPatch(old, reported)
	if err != nil {
		t.Fatal(err)
	}
	var got corev1.Node
	applyPatch(t, old, patch, corev1.Node{}, &got)

	if c := got.Status.Conditions; len(c) != 2 || c[0].Status != corev1.ConditionTrue || c[0].Reason != "KubeletReady" ||
		c[1].Type != corev1.NodeNetworkUnavailable || c[1].Reason != "RouteCreated" {
		t.Errorf("conditions %+v: want Ready from the edge and NetworkUnavailable kept", c)
	}
	wantCap := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("110"),
		"example.com/dongle": resource.MustParse("4"),
	}
	if !equalResources(got.Status.Capacity, wantCap) {
		t.Errorf("capacity %v, want %v", got.Status.Capacity, wantCap)
	}
	if want := reported.Addresses; !reflect.DeepEqual(got.Status.Addresses, want) {
		t.Errorf("addresses %v, want replaced by %v", got.Status.Addresses, want)
	}
	if got.Status.NodeInfo.KubeletVersion != "tether" || len(got.Status.Images) != 1 {
		t.Errorf("nodeInfo %+v images %+v", got.Status.NodeInfo, got.Status.Images)
	}
	if !reflect.DeepEqual(got.Status.VolumesAttached, old.Status.VolumesAttached) || got.Status.Phase != "" {
		t.Errorf("volumesAttached %v phase %q: the edge does not own them", got.Status.VolumesAttached, got.Status.Phase)
	}
	if got.Spec.PodCIDR != old.Spec.PodCIDR || got.Labels["x"] != "y" || got.ResourceVersion != "7" {
		t.Errorf("spec or metadata changed: %+v %+v", got.Spec, got.ObjectMeta)
	}
	if !reflect.DeepEqual(old, clusterNode()) {
		t.Error("nodeStatusPatch changed the cached Node")
	}
}

func equalResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func TestNodeStatusPatchUnchanged(t *testing.T) {
	old := clusterNode()
	reported := old.Status
	patch, err := nodeStatusPatch(old, reported)
	if err != nil || patch != nil {
		t.Errorf("nodeStatusPatch of the same status = %s, %v; want nil", patch, err)
	}
}

func TestNodeStatusPatchFirstAddresses(t *testing.T) {
	old := clusterNode()
	old.Status.Addresses = nil
	reported := old.Status
	reported.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "edge-a"}}
	patch, err := nodeStatusPatch(old, reported)
	if err != nil {
		t.Fatal(err)
	}
	var got corev1.Node
	applyPatch(t, old, patch, corev1.Node{}, &got)
	if !reflect.DeepEqual(got.Status.Addresses, reported.Addresses) {
		t.Errorf("addresses %v, want %v", got.Status.Addresses, reported.Addresses)
	}
}

func TestWithReplacedAddresses(t *testing.T) {
	addrs := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.2"}}
	for _, patch := range []string{`{}`, `{"status":{"phase":"Running"}}`} {
		got, err := withReplacedAddresses([]byte(patch), addrs)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Status map[string]json.RawMessage `json:"status"`
		}
		if err := json.Unmarshal(got, &p); err != nil {
			t.Fatal(err)
		}
		want := `[{"type":"InternalIP","address":"10.0.0.2"},{"$patch":"replace"}]`
		if string(p.Status["addresses"]) != want {
			t.Errorf("patch %s: addresses %s, want %s", patch, p.Status["addresses"], want)
		}
		if patch != `{}` && string(p.Status["phase"]) != `"Running"` {
			t.Errorf("patch %s lost the rest of the status: %s", patch, got)
		}
	}
}

func TestNodeToRegister(t *testing.T) {
	sent := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "whatever", UID: "forged", ResourceVersion: "99",
			Labels: map[string]string{"zone": "a"}, Annotations: map[string]string{"a": "b"}},
		Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: "edge", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}},
	}
	n := nodeToRegister("edge-a", sent)
	if n.Name != "edge-a" || n.UID != "" || n.ResourceVersion != "" {
		t.Errorf("metadata %+v: want the certificate's name and no uid or resourceVersion", n.ObjectMeta)
	}
	want := map[string]string{"zone": "a", edgeNodeLabel: "", nodeRoleAgent: ""}
	if !reflect.DeepEqual(n.Labels, want) {
		t.Errorf("labels %v, want %v", n.Labels, want)
	}
	if len(sent.Labels) != 1 {
		t.Errorf("nodeToRegister changed the sent labels: %v", sent.Labels)
	}
	if n.Annotations["a"] != "b" || len(n.Spec.Taints) != 1 || n.Status.Capacity.Pods().Value() != 10 {
		t.Errorf("annotations, spec or status not kept: %+v", n)
	}
	if got := nodeToRegister("edge-a", &corev1.Node{}).Labels; len(got) != 2 {
		t.Errorf("labels of a Node sent without any: %v", got)
	}
}

func TestSetLabels(t *testing.T) {
	m := metav1.ObjectMeta{Labels: map[string]string{"keep": "1", "zone": "old"}}
	if !setLabels(&m, map[string]string{"zone": "a", edgeNodeLabel: ""}) {
		t.Error("setLabels reported no change")
	}
	want := map[string]string{"keep": "1", "zone": "a", edgeNodeLabel: ""}
	if !reflect.DeepEqual(m.Labels, want) {
		t.Errorf("labels %v, want %v", m.Labels, want)
	}
	if setLabels(&m, map[string]string{"zone": "a"}) {
		t.Error("setLabels reported a change when every label was there")
	}
	var empty metav1.ObjectMeta
	if !setLabels(&empty, map[string]string{"a": ""}) || empty.Labels["a"] != "" {
		t.Errorf("setLabels on no labels: %v", empty.Labels)
	}
}

func TestMergePodStatus(t *testing.T) {
	old := corev1.PodStatus{
		Phase:             corev1.PodPending,
		NominatedNodeName: "edge-a",
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue},
		},
	}
	reported := corev1.PodStatus{
		Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue},
		},
		PodIP: "10.1.0.5",
	}
	got := mergePodStatus(old, reported)
	var types []corev1.PodConditionType
	for _, c := range got.Conditions {
		types = append(types, c.Type)
	}
	if want := []corev1.PodConditionType{corev1.PodScheduled, corev1.PodReady, corev1.DisruptionTarget}; !reflect.DeepEqual(types, want) {
		t.Errorf("conditions %v, want %v", types, want)
	}
	if got.Phase != corev1.PodRunning || got.PodIP != "10.1.0.5" || got.NominatedNodeName != "edge-a" {
		t.Errorf("status %+v", got)
	}
	if len(reported.Conditions) != 2 {
		t.Error("mergePodStatus changed the report")
	}
}

func TestPodStatusPatch(t *testing.T) {
	old := corev1.PodStatus{Phase: corev1.PodPending}
	updated := corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.1.0.5"}
	patch, unchanged, err := podStatusPatch("uid-1", old, updated)
	if err != nil || unchanged {
		t.Fatalf("podStatusPatch = %s, %v, %v", patch, unchanged, err)
	}
	var p struct {
		Metadata struct {
			UID string `json:"uid"`
		} `json:"metadata"`
		Status corev1.PodStatus `json:"status"`
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		t.Fatal(err)
	}
	if p.Metadata.UID != "uid-1" {
		t.Errorf("patch %s does not carry the uid precondition", patch)
	}
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "uid-1"}, Status: old}
	var got corev1.Pod
	applyPatch(t, pod, patch, corev1.Pod{}, &got)
	if got.Status.Phase != corev1.PodRunning || got.Status.PodIP != "10.1.0.5" || got.Name != "web" {
		t.Errorf("patched pod %+v", got)
	}

	patch, unchanged, err = podStatusPatch("uid-1", updated, updated)
	if err != nil || !unchanged {
		t.Errorf("podStatusPatch of the same status = %s, unchanged %v, %v", patch, unchanged, err)
	}
}

func TestRenewed(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	owner := &metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: "edge-a", UID: "node-uid"}
	l := &coordinationv1.Lease{}
	renewed(l, "edge-a", 40, now, owner)
	if *l.Spec.HolderIdentity != "edge-a" || *l.Spec.LeaseDurationSeconds != 40 || !l.Spec.RenewTime.Time.Equal(now) {
		t.Errorf("spec %+v", l.Spec)
	}
	if len(l.OwnerReferences) != 1 || l.OwnerReferences[0] != *owner {
		t.Errorf("owners %+v", l.OwnerReferences)
	}
	renewed(l, "edge-a", 20, now.Add(time.Second), nil)
	if len(l.OwnerReferences) != 1 || *l.Spec.LeaseDurationSeconds != 20 {
		t.Errorf("a renewal without owner dropped it, or kept the old duration: %+v", l)
	}
}

func TestTokenRequest(t *testing.T) {
	pod := upPod("default", "web", "edge-a", "uid-web", "")
	for _, tt := range []struct{ asked, want int64 }{{0, 3600}, {60, 600}, {600, 600}, {7200, 7200}} {
		tr := tokenRequest(pod, kubemsg.TokenQuery{Pod: "web", PodUID: "uid-web", Audiences: []string{"api"}, ExpirationSeconds: tt.asked})
		if got := *tr.Spec.ExpirationSeconds; got != tt.want {
			t.Errorf("asked %ds: expiration %d, want %d", tt.asked, got, tt.want)
		}
		ref := tr.Spec.BoundObjectRef
		if ref == nil || ref.Kind != "Pod" || ref.APIVersion != "v1" || ref.Name != "web" || ref.UID != "uid-web" {
			t.Errorf("bound to %+v", ref)
		}
		if !reflect.DeepEqual(tr.Spec.Audiences, []string{"api"}) {
			t.Errorf("audiences %v", tr.Spec.Audiences)
		}
	}
}

func TestEventToCreate(t *testing.T) {
	sent := upPodEvent("default", "web.1", "web", "uid-web")
	sent.UID, sent.ResourceVersion = "forged", "5"
	sent.Source = corev1.EventSource{Component: "edged", Host: "edge-b"}
	ev := eventToCreate("edge-a", sent)
	if ev.Source.Host != "edge-a" || ev.Source.Component != "edged" {
		t.Errorf("source %+v, want host edge-a", ev.Source)
	}
	if ev.UID != "" || ev.ResourceVersion != "" || ev.Name != "web.1" || ev.Namespace != "default" {
		t.Errorf("metadata %+v", ev.ObjectMeta)
	}
	if sent.Source.Host != "edge-b" {
		t.Error("eventToCreate changed what was sent")
	}
}

func TestRepeatedEvent(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cur := eventToCreate("edge-a", upPodEvent("default", "web.1", "web", "uid-web"))
	cur.Count, cur.Message = 1, "first"
	repeat := cur.DeepCopy()
	repeat.Count, repeat.Message, repeat.LastTimestamp = 5, "fifth", metav1.NewTime(now.Add(-time.Minute))
	if err := sameEventSubject(cur, repeat); err != nil {
		t.Fatal(err)
	}
	repeated(cur, repeat, now)
	if cur.Count != 5 || cur.Message != "fifth" || !cur.LastTimestamp.Equal(&repeat.LastTimestamp) {
		t.Errorf("event %+v", cur)
	}
	repeated(cur, &corev1.Event{Message: "again"}, now)
	if cur.Count != 6 || !cur.LastTimestamp.Time.Equal(now) {
		t.Errorf("a repeat without count or time: count %d last %v", cur.Count, cur.LastTimestamp)
	}

	other := repeat.DeepCopy()
	other.Source.Host = "edge-b"
	if err := sameEventSubject(other, repeat); err == nil {
		t.Error("a repeat folded into another host's event")
	}
	other = repeat.DeepCopy()
	other.InvolvedObject.Name = "db"
	if err := sameEventSubject(other, repeat); err == nil {
		t.Error("a repeat folded into an event about another pod")
	}
}

func TestObjectJSON(t *testing.T) {
	managed := []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	for kind, obj := range map[string]runtime.Object{
		"ConfigMap": &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", ManagedFields: managed}},
		"Node":      &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "cfg", ManagedFields: managed}},
		"Event":     &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "cfg", ManagedFields: managed}},
	} {
		b, err := objectJSON(obj)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		meta, _ := got["metadata"].(map[string]any)
		if got["apiVersion"] != "v1" || got["kind"] != kind || meta["managedFields"] != nil || meta["name"] != "cfg" {
			t.Errorf("encoded %s, want kind %s", b, kind)
		}
	}
}

// cachedObjects is an objectCache over fixed objects.
type cachedObjects map[objectRef]runtime.Object

func (c cachedObjects) object(ref objectRef) (runtime.Object, bool) {
	obj, ok := c[ref]
	return obj, ok
}

// A query the downstream cache holds is answered from it, as cached (the
// informers' transform put it in the edge's form): no apiserver call.
func TestGetObjectFromCache(t *testing.T) {
	cached, _ := forEdge(fakeCM("a", "3"))
	u := &upstream{objects: cachedObjects{dcm("a"): cached.(runtime.Object)}} // no client: a GET would panic
	b, err := u.getObject(context.Background(), dcm("a"))
	if err != nil {
		t.Fatal(err)
	}
	var got corev1.ConfigMap
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != "ConfigMap" || got.APIVersion != "v1" || got.ManagedFields != nil || got.Data["k"] != "3" || got.ResourceVersion != "3" {
		t.Errorf("answered %s", b)
	}
}

// renewLease writes the controller's clock (Options.Now) as the renew
// time and the Node as owner, whether the index or only the apiserver
// holds it; a renewal after the first is one Update of the Lease it kept.
func TestRenewLease(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "edge-a", UID: "node-uid"}}
	for _, indexed := range []bool{true, false} {
		t.Run(fmt.Sprintf("indexed=%v", indexed), func(t *testing.T) {
			ctx := context.Background()
			cs := fake.NewClientset(node)
			idx := upTestIndex()
			if indexed {
				idx.nodes = map[string]*corev1.Node{"edge-a": node}
			}
			now := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
			o := Options{Bus: newUpBus(), Client: cs, Logger: quietLogger(), Hub: "hub", Now: func() time.Time { return now }}
			if err := o.validate(); err != nil {
				t.Fatal(err)
			}
			u := newUpstream(o, o.Logger, idx)
			for i := range 2 {
				cs.ClearActions()
				u.renewLease(ctx, "edge-a", kubemsg.LeaseRenewal{DurationSeconds: 40})
				acts := cs.Actions()
				l, err := cs.CoordinationV1().Leases(kubemsg.LeaseNamespace).Get(ctx, "edge-a", metav1.GetOptions{})
				if err != nil {
					t.Fatalf("renewal %d: %v", i+1, err)
				}
				if l.Spec.RenewTime == nil || !l.Spec.RenewTime.Time.Equal(now) || *l.Spec.HolderIdentity != "edge-a" {
					t.Errorf("renewal %d: spec %+v, want renewed at %v", i+1, l.Spec, now)
				}
				if len(l.OwnerReferences) != 1 || l.OwnerReferences[0].UID != "node-uid" {
					t.Errorf("renewal %d: owners %+v", i+1, l.OwnerReferences)
				}
				if i == 1 && (len(acts) != 1 || acts[0].GetVerb() != "update" || acts[0].GetResource().Resource != "leases") {
					t.Errorf("the second renewal made %v, want one update of the lease", acts)
				}
				now = now.Add(10 * time.Second)
			}
		})
	}
}
