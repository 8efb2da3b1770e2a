package edgecontroller

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
)

// upIndex is an index over fixed pods and uses.
type upIndex struct {
	nodes map[string]*corev1.Node
	pods  []*corev1.Pod
	used  map[string][]objectRef // by node
}

func (x *upIndex) node(name string) (*corev1.Node, bool) {
	n, ok := x.nodes[name]
	return n, ok
}

func (x *upIndex) podOnNode(node, ns, name string) (*corev1.Pod, bool) {
	for _, p := range x.pods {
		if p.Spec.NodeName == node && p.Namespace == ns && p.Name == name {
			return p, true
		}
	}
	return nil, false
}

func (x *upIndex) uses(node string, ref objectRef) bool {
	for _, r := range x.used[node] {
		if r == ref {
			return true
		}
	}
	return false
}

func upPod(ns, name, node string, uid types.UID, sa string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: uid},
		Spec:       corev1.PodSpec{NodeName: node, ServiceAccountName: sa},
	}
}

// testIndex: web (uid-web) and api (uid-api, service account "api") on
// edge-a; db (uid-db) on edge-b; edge-a uses configmap cfg and secret
// creds in default, edge-b uses secret db-creds.
func upTestIndex() *upIndex {
	return &upIndex{
		pods: []*corev1.Pod{
			upPod("default", "web", "edge-a", "uid-web", ""),
			upPod("default", "api", "edge-a", "uid-api", "api"),
			upPod("default", "db", "edge-b", "uid-db", ""),
		},
		used: map[string][]objectRef{
			"edge-a": {
				{Kind: kubemsg.TypeConfigMap, Namespace: "default", Name: "cfg"},
				{Kind: kubemsg.TypeSecret, Namespace: "default", Name: "creds"},
			},
			"edge-b": {{Kind: kubemsg.TypeSecret, Namespace: "default", Name: "db-creds"}},
		},
	}
}

func upRes(ns, typ, name string) message.Resource {
	return message.Resource{Namespace: ns, Type: typ, Name: name}
}

func upPodEvent(ns, name string, pod string, uid types.UID) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: ns, Name: name},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod, UID: uid},
	}
}

func TestAuthorize(t *testing.T) {
	upNodeEvent := func(node string) *corev1.Event {
		return &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Namespace: "default", Name: "ev"},
			InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: node},
		}
	}
	tests := []struct {
		name    string
		u       upMsg
		pod     string // the granted pod's name, when allowed
		allowed bool
		reason  string // a part of the denial's reason
	}{
		{name: "register own node", allowed: true,
			u: upMsg{kind: upRegister, res: upRes("", kubemsg.TypeNode, "edge-a"), nodeObj: &corev1.Node{}}},
		{name: "register own node, content names it", allowed: true,
			u: upMsg{kind: upRegister, res: upRes("", kubemsg.TypeNode, "edge-a"), nodeObj: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "edge-a"}}}},
		{name: "register another node", reason: `not "edge-b"`,
			u: upMsg{kind: upRegister, res: upRes("", kubemsg.TypeNode, "edge-b"), nodeObj: &corev1.Node{}}},
		{name: "register own name with another node's content", reason: `Node named "edge-b"`,
			u: upMsg{kind: upRegister, res: upRes("", kubemsg.TypeNode, "edge-a"), nodeObj: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "edge-b"}}}},
		{name: "register in a namespace", reason: "cluster-scoped",
			u: upMsg{kind: upRegister, res: upRes("default", kubemsg.TypeNode, "edge-a"), nodeObj: &corev1.Node{}}},

		{name: "own node status", allowed: true,
			u: upMsg{kind: upNodeStatus, res: upRes("", kubemsg.TypeNodeStatus, "edge-a"), nodeStatus: &corev1.NodeStatus{}}},
		{name: "another node's status", reason: `not "edge-b"`,
			u: upMsg{kind: upNodeStatus, res: upRes("", kubemsg.TypeNodeStatus, "edge-b"), nodeStatus: &corev1.NodeStatus{}}},

		{name: "own lease", allowed: true,
			u: upMsg{kind: upLease, res: upRes(kubemsg.LeaseNamespace, kubemsg.TypeLease, "edge-a"), lease: &kubemsg.LeaseRenewal{DurationSeconds: 40}}},
		{name: "another node's lease", reason: `not "edge-b"`,
			u: upMsg{kind: upLease, res: upRes(kubemsg.LeaseNamespace, kubemsg.TypeLease, "edge-b"), lease: &kubemsg.LeaseRenewal{DurationSeconds: 40}}},
		{name: "own lease in the wrong namespace", reason: "kube-node-lease",
			u: upMsg{kind: upLease, res: upRes("default", kubemsg.TypeLease, "edge-a"), lease: &kubemsg.LeaseRenewal{DurationSeconds: 40}}},

		{name: "status of a pod on the node", allowed: true, pod: "web",
			u: upMsg{kind: upPodStatus, res: upRes("default", kubemsg.TypePodStatus, "web"), podStatus: &kubemsg.PodStatusReport{UID: "uid-web"}}},
		{name: "status of a pod on another node", reason: "not bound to node edge-a",
			u: upMsg{kind: upPodStatus, res: upRes("default", kubemsg.TypePodStatus, "db"), podStatus: &kubemsg.PodStatusReport{UID: "uid-db"}}},
		{name: "status of an absent pod", reason: "not bound to node edge-a",
			u: upMsg{kind: upPodStatus, res: upRes("default", kubemsg.TypePodStatus, "gone"), podStatus: &kubemsg.PodStatusReport{UID: "uid-gone"}}},
		{name: "status of a pod in another namespace", reason: "not bound to node edge-a",
			u: upMsg{kind: upPodStatus, res: upRes("other", kubemsg.TypePodStatus, "web"), podStatus: &kubemsg.PodStatusReport{UID: "uid-web"}}},
		{name: "status of an earlier pod of the name", reason: "has uid uid-web",
			u: upMsg{kind: upPodStatus, res: upRes("default", kubemsg.TypePodStatus, "web"), podStatus: &kubemsg.PodStatusReport{UID: "uid-old"}}},
		{name: "status without uid", reason: "has uid uid-web",
			u: upMsg{kind: upPodStatus, res: upRes("default", kubemsg.TypePodStatus, "web"), podStatus: &kubemsg.PodStatusReport{}}},

		{name: "event about the node", allowed: true,
			u: upMsg{kind: upEvent, res: upRes("default", kubemsg.TypeEvent, "ev"), event: upNodeEvent("edge-a")}},
		{name: "event about another node", reason: `not node "edge-b"`,
			u: upMsg{kind: upEvent, res: upRes("default", kubemsg.TypeEvent, "ev"), event: upNodeEvent("edge-b")}},
		{name: "event about a pod on the node", allowed: true, pod: "web",
			u: upMsg{kind: upEvent, res: upRes("default", kubemsg.TypeEvent, "web.1"), event: upPodEvent("default", "web.1", "web", "uid-web")}},
		{name: "event about a pod on the node, no uid", allowed: true, pod: "web",
			u: upMsg{kind: upEvent, res: upRes("default", kubemsg.TypeEvent, "web.1"), event: upPodEvent("default", "web.1", "web", "")}},
		{name: "event about another node's pod", reason: "not bound to node edge-a",
			u: upMsg{kind: upEvent, res: upRes("default", kubemsg.TypeEvent, "db.1"), event: upPodEvent("default", "db.1", "db", "uid-db")}},
		{name: "event about an earlier pod of the name", reason: "has uid uid-web",
			u: upMsg{kind: upEvent, res: upRes("default", kubemsg.TypeEvent, "web.1"), event: upPodEvent("default", "web.1", "web", "uid-old")}},
		{name: "event in another namespace than its resource", reason: "sent as",
			u: upMsg{kind: upEvent, res: upRes("other", kubemsg.TypeEvent, "web.1"), event: upPodEvent("default", "web.1", "web", "uid-web")}},
		{name: "event named otherwise than its resource", reason: "sent as default/web.2",
			u: upMsg{kind: upEvent, res: upRes("default", kubemsg.TypeEvent, "web.2"), event: upPodEvent("default", "web.1", "web", "uid-web")}},
		{name: "event about a pod in another namespace", reason: "about a pod in",
			u: upMsg{kind: upEvent, res: upRes("default", kubemsg.TypeEvent, "web.1"), event: &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Namespace: "default", Name: "web.1"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "other", Name: "web"}}}},
		{name: "event about a deployment", reason: `not a "Deployment"`,
			u: upMsg{kind: upEvent, res: upRes("default", kubemsg.TypeEvent, "d.1"), event: &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Namespace: "default", Name: "d.1"},
				InvolvedObject: corev1.ObjectReference{Kind: "Deployment", Namespace: "default", Name: "web"}}}},

		{name: "used configmap", allowed: true,
			u: upMsg{kind: upConfigMap, res: upRes("default", kubemsg.TypeConfigMap, "cfg")}},
		{name: "unused configmap", reason: "no pod of node edge-a uses configmap default/other",
			u: upMsg{kind: upConfigMap, res: upRes("default", kubemsg.TypeConfigMap, "other")}},
		{name: "used secret", allowed: true,
			u: upMsg{kind: upSecret, res: upRes("default", kubemsg.TypeSecret, "creds")}},
		{name: "another node's secret", reason: "uses secret default/db-creds",
			u: upMsg{kind: upSecret, res: upRes("default", kubemsg.TypeSecret, "db-creds")}},
		{name: "a used configmap's name as a secret", reason: "uses secret default/cfg",
			u: upMsg{kind: upSecret, res: upRes("default", kubemsg.TypeSecret, "cfg")}},
		{name: "a used secret's name in another namespace", reason: "uses secret other/creds",
			u: upMsg{kind: upSecret, res: upRes("other", kubemsg.TypeSecret, "creds")}},

		{name: "token of the default service account", allowed: true, pod: "web",
			u: upMsg{kind: upToken, res: upRes("default", kubemsg.TypeToken, "default"), token: &kubemsg.TokenQuery{Pod: "web", PodUID: "uid-web"}}},
		{name: "token of a named service account", allowed: true, pod: "api",
			u: upMsg{kind: upToken, res: upRes("default", kubemsg.TypeToken, "api"), token: &kubemsg.TokenQuery{Pod: "api", PodUID: "uid-api"}}},
		{name: "token of another service account", reason: `runs as service account "default", not "api"`,
			u: upMsg{kind: upToken, res: upRes("default", kubemsg.TypeToken, "api"), token: &kubemsg.TokenQuery{Pod: "web", PodUID: "uid-web"}}},
		{name: "token for another node's pod", reason: "not bound to node edge-a",
			u: upMsg{kind: upToken, res: upRes("default", kubemsg.TypeToken, "default"), token: &kubemsg.TokenQuery{Pod: "db", PodUID: "uid-db"}}},
		{name: "token for an earlier pod of the name", reason: "has uid uid-web",
			u: upMsg{kind: upToken, res: upRes("default", kubemsg.TypeToken, "default"), token: &kubemsg.TokenQuery{Pod: "web", PodUID: "uid-old"}}},
		{name: "token for a pod in another namespace", reason: "not bound to node edge-a",
			u: upMsg{kind: upToken, res: upRes("other", kubemsg.TypeToken, "default"), token: &kubemsg.TokenQuery{Pod: "web", PodUID: "uid-web"}}},

		{name: "unsupported kind", reason: "not a node's to ask",
			u: upMsg{kind: upUnsupported, res: upRes("default", "pod", "web")}},
	}
	idx := upTestIndex()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.u.node = "edge-a"
			g, err := authorize(idx, tt.u)
			if tt.allowed {
				if err != nil {
					t.Fatalf("authorize = %v, want allowed", err)
				}
				if got := grantedPod(g.pod); got != tt.pod {
					t.Errorf("granted pod %q, want %q", got, tt.pod)
				}
				return
			}
			var d *denial
			if !errors.As(err, &d) {
				t.Fatalf("authorize = %v, want a denial", err)
			}
			if !strings.Contains(d.reason, tt.reason) {
				t.Errorf("reason %q does not say %q", d.reason, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), "forbidden: ") {
				t.Errorf("error %q does not start with forbidden", err)
			}
			if g.pod != nil {
				t.Errorf("a denial granted pod %s", g.pod.Name)
			}
		})
	}
}

func grantedPod(p *corev1.Pod) string {
	if p == nil {
		return ""
	}
	return p.Name
}

// TestAuthorizeEveryKind fails when a kind of kubemsg's table is added
// without a case in authorize: every kind must be allowed for something.
func TestAuthorizeEveryKind(t *testing.T) {
	for k := upRegister; int(k) < len(upKinds); k++ {
		if strings.HasPrefix(k.String(), "upKind(") {
			t.Errorf("kind %d has no name", k)
		}
	}
	if got := upKind(99).String(); got != "upKind(99)" {
		t.Errorf("upKind(99) = %q", got)
	}
}
