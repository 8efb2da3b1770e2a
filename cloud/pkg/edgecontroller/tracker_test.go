package edgecontroller

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/common/kubemsg"
)

// Test objects. Refs are given as objectRefs and become a volume
// (configmap) or an env secretKeyRef (secret), which podRefs reads back.

func testNode(name, rv string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), ResourceVersion: rv}}
}

func testPod(ns, name, rv, sa string, refs ...objectRef) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name), ResourceVersion: rv},
		Spec:       corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Name: "c"}}},
	}
	for _, r := range refs {
		switch r.Kind {
		case kubemsg.TypeConfigMap:
			p.Spec.Volumes = append(p.Spec.Volumes, cmVolume(r.Name))
		case kubemsg.TypeSecret:
			p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, secretKeyEnv(r.Name))
		}
	}
	return p
}

func testObject(ref objectRef, rv string) kubeObject {
	meta := metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Name, UID: types.UID("uid-" + ref.Name), ResourceVersion: rv}
	if ref.Kind == kubemsg.TypeSecret {
		return &corev1.Secret{ObjectMeta: meta}
	}
	return &corev1.ConfigMap{ObjectMeta: meta}
}

// describe renders effects as lines: "insert node/n1/ns/pod/p@3",
// "watch configmap ns/a", "watchPods n1".
func describe(e effects) []string {
	var out []string
	for _, s := range e.sends {
		line := fmt.Sprintf("%s %s", s.op, s.res)
		if s.obj != nil {
			line += "@" + s.obj.GetResourceVersion()
		}
		out = append(out, line)
	}
	for _, n := range e.watchPods {
		out = append(out, "watchPods "+n)
	}
	for _, n := range e.unwatchPods {
		out = append(out, "unwatchPods "+n)
	}
	for _, r := range e.watch {
		out = append(out, fmt.Sprintf("watch %s %s/%s", r.Kind, r.Namespace, r.Name))
	}
	for _, r := range e.unwatch {
		out = append(out, fmt.Sprintf("unwatch %s %s/%s", r.Kind, r.Namespace, r.Name))
	}
	return out
}

type step struct {
	name string
	do   func(*tracker) effects
	want []string
}

func runScript(t *testing.T, steps []step) *tracker {
	t.Helper()
	tr := newTracker()
	for i, s := range steps {
		got := describe(s.do(tr))
		if !slices.Equal(got, s.want) {
			t.Fatalf("step %d (%s):\n got %q\nwant %q", i, s.name, got, s.want)
		}
	}
	return tr
}

func TestTrackerOneNode(t *testing.T) {
	a, s := cmRef("a"), secretRef("s")
	runScript(t, []step{
		{"node appears", func(tr *tracker) effects { return tr.upsertNode(testNode("n1", "1")) },
			[]string{"insert node/n1/null/node/n1@1", "watchPods n1"}},
		{"same node version again", func(tr *tracker) effects { return tr.upsertNode(testNode("n1", "1")) }, nil},
		{"node changes", func(tr *tracker) effects { return tr.upsertNode(testNode("n1", "2")) },
			[]string{"update node/n1/null/node/n1@2"}},
		{"pod using a and s: watch both, objects not known yet", func(tr *tracker) effects {
			return tr.upsertPod("n1", testPod("ns", "p1", "10", "", a, s))
		}, []string{"insert node/n1/ns/pod/p1@10", "watch configmap ns/a", "watch secret ns/s"}},
		{"a becomes known", func(tr *tracker) effects { return tr.upsertObject(a, testObject(a, "20")) },
			[]string{"insert node/n1/ns/configmap/a@20"}},
		{"same version of a", func(tr *tracker) effects { return tr.upsertObject(a, testObject(a, "20")) }, nil},
		{"a changes", func(tr *tracker) effects { return tr.upsertObject(a, testObject(a, "21")) },
			[]string{"update node/n1/ns/configmap/a@21"}},
		{"a second pod using a sends only itself", func(tr *tracker) effects {
			return tr.upsertPod("n1", testPod("ns", "p2", "11", "", a))
		}, []string{"insert node/n1/ns/pod/p2@11"}},
		{"p1 deleted: s was never known, so no delete for it", func(tr *tracker) effects { return tr.deletePod("n1", "ns", "p1") },
			[]string{"delete node/n1/ns/pod/p1", "unwatch secret ns/s"}},
		{"a deleted in the cluster", func(tr *tracker) effects { return tr.deleteObject(a) },
			[]string{"delete node/n1/ns/configmap/a"}},
		{"a comes back", func(tr *tracker) effects { return tr.upsertObject(a, testObject(a, "30")) },
			[]string{"insert node/n1/ns/configmap/a@30"}},
		{"p2 deleted releases a", func(tr *tracker) effects { return tr.deletePod("n1", "ns", "p2") },
			[]string{"delete node/n1/ns/pod/p2", "delete node/n1/ns/configmap/a", "unwatch configmap ns/a"}},
		{"deleting an unknown pod does nothing", func(tr *tracker) effects { return tr.deletePod("n1", "ns", "p2") }, nil},
		{"an object no pod uses is ignored", func(tr *tracker) effects { return tr.upsertObject(a, testObject(a, "31")) }, nil},
		{"a pod of an unknown node is ignored", func(tr *tracker) effects {
			return tr.upsertPod("n9", testPod("ns", "p9", "1", "", a))
		}, nil},
	})
}

func TestTrackerPodChangesRefs(t *testing.T) {
	a, b, s := cmRef("a"), cmRef("b"), secretRef("s")
	runScript(t, []step{
		{"node", func(tr *tracker) effects { return tr.upsertNode(testNode("n1", "1")) },
			[]string{"insert node/n1/null/node/n1@1", "watchPods n1"}},
		{"pod uses a, s", func(tr *tracker) effects { return tr.upsertPod("n1", testPod("ns", "p", "2", "", a, s)) },
			[]string{"insert node/n1/ns/pod/p@2", "watch configmap ns/a", "watch secret ns/s"}},
		{"a known", func(tr *tracker) effects { return tr.upsertObject(a, testObject(a, "3")) },
			[]string{"insert node/n1/ns/configmap/a@3"}},
		{"b known before anyone uses it: ignored", func(tr *tracker) effects { return tr.upsertObject(b, testObject(b, "4")) }, nil},
		{"pod now uses b and s: b watched, pod updated, a taken back", func(tr *tracker) effects {
			return tr.upsertPod("n1", testPod("ns", "p", "5", "", b, s))
		}, []string{"update node/n1/ns/pod/p@5", "delete node/n1/ns/configmap/a", "watch configmap ns/b", "unwatch configmap ns/a"}},
		{"b known", func(tr *tracker) effects { return tr.upsertObject(b, testObject(b, "6")) },
			[]string{"insert node/n1/ns/configmap/b@6"}},
	})
}

func TestTrackerObjectsGoBeforeThePodThatUsesThem(t *testing.T) {
	a := cmRef("a")
	runScript(t, []step{
		{"node", func(tr *tracker) effects { return tr.upsertNode(testNode("n1", "1")) },
			[]string{"insert node/n1/null/node/n1@1", "watchPods n1"}},
		{"p1 uses a", func(tr *tracker) effects { return tr.upsertPod("n1", testPod("ns", "p1", "2", "", a)) },
			[]string{"insert node/n1/ns/pod/p1@2", "watch configmap ns/a"}},
		{"a known", func(tr *tracker) effects { return tr.upsertObject(a, testObject(a, "3")) },
			[]string{"insert node/n1/ns/configmap/a@3"}},
		{"n2 appears", func(tr *tracker) effects { return tr.upsertNode(testNode("n2", "4")) },
			[]string{"insert node/n2/null/node/n2@4", "watchPods n2"}},
		{"a pod of n2 uses a: a first, then the pod", func(tr *tracker) effects {
			return tr.upsertPod("n2", testPod("ns", "p2", "5", "", a))
		}, []string{"insert node/n2/ns/configmap/a@3", "insert node/n2/ns/pod/p2@5"}},
	})
}

func TestTrackerSharedObjectAndNodeLeaving(t *testing.T) {
	a, s := cmRef("a"), secretRef("s")
	tr := runScript(t, []step{
		{"n1", func(tr *tracker) effects { return tr.upsertNode(testNode("n1", "1")) },
			[]string{"insert node/n1/null/node/n1@1", "watchPods n1"}},
		{"n2", func(tr *tracker) effects { return tr.upsertNode(testNode("n2", "1")) },
			[]string{"insert node/n2/null/node/n2@1", "watchPods n2"}},
		{"p1 on n1 uses a and s", func(tr *tracker) effects { return tr.upsertPod("n1", testPod("ns", "p1", "2", "", a, s)) },
			[]string{"insert node/n1/ns/pod/p1@2", "watch configmap ns/a", "watch secret ns/s"}},
		{"p2 on n2 uses a: watched once", func(tr *tracker) effects { return tr.upsertPod("n2", testPod("ns", "p2", "3", "", a)) },
			[]string{"insert node/n2/ns/pod/p2@3"}},
		{"a known goes to both", func(tr *tracker) effects { return tr.upsertObject(a, testObject(a, "4")) },
			[]string{"insert node/n1/ns/configmap/a@4", "insert node/n2/ns/configmap/a@4"}},
		{"s known goes to n1", func(tr *tracker) effects { return tr.upsertObject(s, testObject(s, "5")) },
			[]string{"insert node/n1/ns/secret/s@5"}},
		{"a changes: both", func(tr *tracker) effects { return tr.upsertObject(a, testObject(a, "6")) },
			[]string{"update node/n1/ns/configmap/a@6", "update node/n2/ns/configmap/a@6"}},
		{"a deleted: both", func(tr *tracker) effects { return tr.deleteObject(a) },
			[]string{"delete node/n1/ns/configmap/a", "delete node/n2/ns/configmap/a"}},
		{"a deleted again: nothing", func(tr *tracker) effects { return tr.deleteObject(a) }, nil},
		{"a recreated", func(tr *tracker) effects { return tr.upsertObject(a, testObject(a, "7")) },
			[]string{"insert node/n1/ns/configmap/a@7", "insert node/n2/ns/configmap/a@7"}},
		{"n1 leaves: its pods, objects, node; s unwatched, a still used by n2", func(tr *tracker) effects { return tr.removeNode("n1") },
			[]string{"delete node/n1/ns/pod/p1", "delete node/n1/ns/configmap/a", "delete node/n1/ns/secret/s",
				"delete node/n1/null/node/n1", "unwatchPods n1", "unwatch secret ns/s"}},
		{"a pod event of the gone node is ignored", func(tr *tracker) effects { return tr.upsertPod("n1", testPod("ns", "p1", "8", "", a)) }, nil},
		{"n1 leaving again: nothing", func(tr *tracker) effects { return tr.removeNode("n1") }, nil},
		{"n2 leaves: a unwatched", func(tr *tracker) effects { return tr.removeNode("n2") },
			[]string{"delete node/n2/ns/pod/p2", "delete node/n2/ns/configmap/a", "delete node/n2/null/node/n2",
				"unwatchPods n2", "unwatch configmap ns/a"}},
	})
	if nodes, refs := tr.watched(); len(nodes) != 0 || len(refs) != 0 {
		t.Errorf("after every node left, watched = %v, %v", nodes, refs)
	}
}

func TestTrackerQueries(t *testing.T) {
	a := cmRef("a")
	tr := newTracker()
	tr.upsertNode(testNode("n1", "1"))
	tr.upsertPod("n1", testPod("ns", "p1", "2", "robot", a))
	tr.upsertPod("n1", testPod("ns", "p2", "3", "", a))
	robot := objectRef{Kind: kindServiceAccount, Namespace: "ns", Name: "robot"}
	def := objectRef{Kind: kindServiceAccount, Namespace: "ns", Name: "default"}

	if n, ok := tr.node("n1"); !ok || n.ResourceVersion != "1" {
		t.Errorf("node(n1) = %v, %v", n, ok)
	}
	if _, ok := tr.node("n2"); ok {
		t.Error("node(n2) found")
	}
	if p, ok := tr.pod("n1", "ns", "p1"); !ok || p.Name != "p1" {
		t.Errorf("pod(n1, ns/p1) = %v, %v", p, ok)
	}
	if _, ok := tr.pod("n2", "ns", "p1"); ok {
		t.Error("pod of another node found")
	}
	for _, ref := range []objectRef{a, robot, def} {
		if !tr.uses("n1", ref) {
			t.Errorf("uses(n1, %v) = false", ref)
		}
		if tr.uses("n2", ref) {
			t.Errorf("uses(n2, %v) = true", ref)
		}
	}
	if _, ok := tr.object(a); ok {
		t.Error("object(a) known before its watch reported it")
	}
	e := tr.upsertObject(a, testObject(a, "4"))
	if obj, ok := tr.object(a); !ok || obj.GetResourceVersion() != "4" {
		t.Errorf("object(a) = %v, %v", obj, ok)
	}
	if len(e.watch) != 0 {
		t.Errorf("service accounts are watched: %v", e.watch)
	}
	tr.deletePod("n1", "ns", "p1")
	if tr.uses("n1", robot) || !tr.uses("n1", def) || !tr.uses("n1", a) {
		t.Error("after p1 left, robot should be unused and default, a still used")
	}
	if n, p, o := tr.counts(); n != 1 || p != 1 || o != 1 {
		t.Errorf("counts = %d nodes, %d pods, %d objects; want 1, 1, 1", n, p, o)
	}
	if got := tr.refsOf("n1"); !slices.Equal(got, []objectRef{a}) {
		t.Errorf("refsOf(n1) = %v", got)
	}
}
