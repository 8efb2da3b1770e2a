package edgecontroller

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/common/message"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestDownstream(t *testing.T, cs *fakeCluster) (*downstream, *hubRecorder) {
	t.Helper()
	hub := &hubRecorder{}
	o := Options{Bus: hub, Client: cs, Logger: quietLogger(), Hub: "hub"}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	return newDownstream(o, o.Logger), hub
}

// runDownstream runs d until the returned stop, which cancels and joins.
func runDownstream(t *testing.T, d *downstream) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("run did not return after its context ended")
		}
	}
	t.Cleanup(stop)
	return stop
}

func waitSynced(t *testing.T, d *downstream) {
	t.Helper()
	select {
	case <-d.synced():
	case <-time.After(10 * time.Second):
		t.Fatal("downstream did not sync")
	}
}

func objMeta(ns, name, rv string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: rv, UID: types.UID("uid-" + name),
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}}
}

func fakeNode(name, rv string, edge bool) *corev1.Node {
	n := &corev1.Node{ObjectMeta: objMeta("", name, rv)}
	if edge {
		n.Labels = map[string]string{edgeNodeLabel: ""}
	}
	return n
}

func fakePod(name, node, rv string, refs ...objectRef) *corev1.Pod {
	p := testPod("default", name, rv, "", refs...)
	p.ObjectMeta = objMeta("default", name, rv)
	p.Spec.NodeName = node
	return p
}

func fakeCM(name, rv string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: objMeta("default", name, rv), Data: map[string]string{"k": rv}}
}

func fakeSecret(name, rv string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: objMeta("default", name, rv), Data: map[string][]byte{"k": []byte(rv)}}
}

func dcm(name string) objectRef {
	return objectRef{Kind: "configmap", Namespace: "default", Name: name}
}
func dsecret(name string) objectRef {
	return objectRef{Kind: "secret", Namespace: "default", Name: name}
}

// edge keys of a node's set
func kNode(name string) message.Resource { return message.Resource{Type: "node", Name: name} }
func kPod(name string) message.Resource {
	return message.Resource{Namespace: "default", Type: "pod", Name: name}
}
func kRef(ref objectRef) message.Resource {
	return message.Resource{Namespace: ref.Namespace, Type: ref.Kind, Name: ref.Name}
}

func TestDownstreamInitialLoad(t *testing.T) {
	cs := newFakeCluster(
		fakeNode("n1", "1", true), fakeNode("n2", "1", false),
		fakePod("p1", "n1", "2", dcm("a"), dsecret("s")),
		fakePod("p2", "n2", "2", dcm("b")),
		fakePod("unbound", "", "2", dcm("c")),
		fakeCM("a", "3"), fakeSecret("s", "4"), fakeCM("b", "5"), fakeCM("c", "6"), fakeSecret("unused", "7"),
	)
	d, hub := newTestDownstream(t, cs)
	runDownstream(t, d)
	waitSynced(t, d)

	// Once synced, the set is in the hub already: no waiting.
	sets := hub.sets()
	want := map[message.Resource]string{kNode("n1"): "1", kPod("p1"): "2", kRef(dcm("a")): "3", kRef(dsecret("s")): "4"}
	if err := setIs(sets["n1"], want); err != nil {
		t.Fatalf("n1: %v", err)
	}
	if len(sets) != 1 {
		t.Errorf("sets for other nodes: %v", sets)
	}
	for _, m := range hub.messages() {
		checkContent(t, m)
	}

	if _, ok := d.node("n1"); !ok {
		t.Error("node(n1) not found")
	}
	if _, ok := d.node("n2"); ok {
		t.Error("node(n2) found: not an edge node")
	}
	if _, ok := d.podOnNode("n1", "default", "p1"); !ok {
		t.Error("podOnNode(n1, p1) not found")
	}
	if _, ok := d.podOnNode("n1", "default", "p2"); ok {
		t.Error("podOnNode(n1, p2) found")
	}
	for ref, want := range map[objectRef]bool{
		dcm("a"): true, dsecret("s"): true, {Kind: kindServiceAccount, Namespace: "default", Name: "default"}: true,
		dcm("b"): false, dsecret("unused"): false,
	} {
		if got := d.uses("n1", ref); got != want {
			t.Errorf("uses(n1, %v) = %v", ref, got)
		}
	}
	if obj, ok := d.object(dcm("a")); !ok || obj.(*corev1.ConfigMap).Data["k"] != "3" {
		t.Errorf("object(a) = %v, %v", obj, ok)
	}
	if _, ok := d.object(dcm("b")); ok {
		t.Error("object(b) cached: no edge pod uses it")
	}
	waitUntil(t, "one watch per kind", func() error {
		for _, res := range []string{"nodes", "pods", "configmaps", "secrets"} {
			if n := cs.openWatches(res); n != 1 {
				return fmt.Errorf("%d watches of %s", n, res)
			}
		}
		return nil
	})
}

// checkContent checks what an upsert carries: apiVersion, kind, uid, and
// no managedFields.
func checkContent(t *testing.T, m message.Message) {
	t.Helper()
	if m.Route.Operation == message.OpDelete {
		return
	}
	var obj struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			UID           string `json:"uid"`
			ManagedFields []any  `json:"managedFields"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(m.Content, &obj); err != nil {
		t.Fatalf("%s: %v", m.Route.Resource, err)
	}
	if obj.APIVersion != "v1" || obj.Kind == "" || obj.Metadata.UID == "" || obj.Metadata.ManagedFields != nil {
		t.Errorf("%s: apiVersion %q kind %q uid %q managedFields %v", m.Route.Resource, obj.APIVersion, obj.Kind,
			obj.Metadata.UID, obj.Metadata.ManagedFields)
	}
	if m.Route.Source != Name || m.Route.Destination != "hub" || m.Header.ResourceVersion == "" {
		t.Errorf("%s: from %q to %q rv %q", m.Route.Resource, m.Route.Source, m.Route.Destination, m.Header.ResourceVersion)
	}
}

func TestDownstreamFollowsTheCluster(t *testing.T) {
	ctx := context.Background()
	cs := newFakeCluster(fakeNode("n1", "1", true), fakeNode("n2", "1", false), fakeNode("n3", "1", false),
		fakePod("p3", "n3", "2"))
	d, hub := newTestDownstream(t, cs)
	runDownstream(t, d)
	waitSynced(t, d)
	core := cs.CoreV1()
	waitUntil(t, "the pods of n1 watched", func() error {
		if cs.openWatches("pods") != 1 {
			return fmt.Errorf("%d pod watches", cs.openWatches("pods"))
		}
		return nil
	})
	mustDo(t, func() error {
		_, err := core.ConfigMaps("default").Create(ctx, fakeCM("a", "10"), metav1.CreateOptions{})
		return err
	})
	mustDo(t, func() error {
		_, err := core.Pods("default").Create(ctx, fakePod("p1", "n1", "11", dcm("a")), metav1.CreateOptions{})
		return err
	})
	waitSet(t, hub, "n1", map[message.Resource]string{kNode("n1"): "1", kPod("p1"): "11", kRef(dcm("a")): "10"})

	waitUntil(t, "configmap a watched", func() error {
		if cs.openWatches("configmaps") != 1 {
			return fmt.Errorf("%d configmap watches", cs.openWatches("configmaps"))
		}
		return nil
	})
	mustDo(t, func() error {
		_, err := core.ConfigMaps("default").Update(ctx, fakeCM("a", "12"), metav1.UpdateOptions{})
		return err
	})
	waitSet(t, hub, "n1", map[message.Resource]string{kNode("n1"): "1", kPod("p1"): "11", kRef(dcm("a")): "12"})
	if last := hub.messages()[len(hub.messages())-1]; last.Route.Operation != message.OpUpdate || last.Route.Resource.Type != "configmap" {
		t.Errorf("a's change sent as %s %s", last.Route.Operation, last.Route.Resource)
	}

	mustDo(t, func() error {
		_, err := core.Pods("default").Create(ctx, fakePod("p9", "n2", "13", dsecret("u")), metav1.CreateOptions{})
		return err
	})
	mustDo(t, func() error { return core.Pods("default").Delete(ctx, "p1", metav1.DeleteOptions{}) })
	waitSet(t, hub, "n1", map[message.Resource]string{kNode("n1"): "1"})
	waitUntil(t, "configmap a no longer watched", func() error {
		if n := cs.openWatches("configmaps"); n != 0 {
			return fmt.Errorf("%d configmap watches", n)
		}
		return nil
	})

	// n3 becomes an edge node, with the pod it already had, then stops being one.
	mustDo(t, func() error {
		_, err := core.Nodes().Update(ctx, fakeNode("n3", "20", true), metav1.UpdateOptions{})
		return err
	})
	waitSet(t, hub, "n3", map[message.Resource]string{kNode("n3"): "20", kPod("p3"): "2"})
	mustDo(t, func() error {
		_, err := core.Nodes().Update(ctx, fakeNode("n3", "21", false), metav1.UpdateOptions{})
		return err
	})
	waitSet(t, hub, "n3", map[message.Resource]string{})
	waitUntil(t, "the pods of n3 no longer watched", func() error {
		if n := cs.openWatches("pods"); n != 1 {
			return fmt.Errorf("%d pod watches", n)
		}
		return nil
	})
	for node := range hub.sets() {
		if node == "n2" {
			t.Errorf("n2 (not an edge node) got messages")
		}
	}
	for _, m := range hub.messages() {
		checkContent(t, m)
	}
}

func TestDownstreamRestartTakesBackWhatVanished(t *testing.T) {
	ctx := context.Background()
	goroutines := runtime.NumGoroutine()
	cs := newFakeCluster(fakeNode("n1", "1", true), fakeNode("n4", "1", true),
		fakePod("p1", "n1", "2", dcm("a")), fakeCM("a", "3"),
		fakePod("p5", "n1", "2", dcm("b"), dsecret("s")), fakeCM("b", "4"), fakeSecret("s", "4"))
	d, hub := newTestDownstream(t, cs)
	stop := runDownstream(t, d)
	waitSynced(t, d)
	waitSet(t, hub, "n1", map[message.Resource]string{kNode("n1"): "1", kPod("p1"): "2", kRef(dcm("a")): "3",
		kPod("p5"): "2", kRef(dcm("b")): "4", kRef(dsecret("s")): "4"})
	stop()
	for _, res := range []string{"nodes", "pods", "configmaps", "secrets"} {
		if n := cs.openWatches(res); n != 0 {
			t.Errorf("after run returned, %d watches of %s are open", n, res)
		}
	}

	// Meanwhile: p1 goes, p2 comes, b goes, s changes, n4 goes.
	core := cs.CoreV1()
	mustDo(t, func() error { return core.Pods("default").Delete(ctx, "p1", metav1.DeleteOptions{}) })
	mustDo(t, func() error {
		_, err := core.Pods("default").Create(ctx, fakePod("p2", "n1", "5"), metav1.CreateOptions{})
		return err
	})
	mustDo(t, func() error { return core.ConfigMaps("default").Delete(ctx, "b", metav1.DeleteOptions{}) })
	mustDo(t, func() error {
		_, err := core.Secrets("default").Update(ctx, fakeSecret("s", "6"), metav1.UpdateOptions{})
		return err
	})
	mustDo(t, func() error { return core.Nodes().Delete(ctx, "n4", metav1.DeleteOptions{}) })
	if _, ok := d.podOnNode("n1", "default", "p1"); !ok {
		t.Error("between runs, the index forgot p1: it should answer from the last run")
	}

	stop = runDownstream(t, d)
	waitSet(t, hub, "n1", map[message.Resource]string{kNode("n1"): "1", kPod("p2"): "5", kPod("p5"): "2", kRef(dsecret("s")): "6"})
	waitSet(t, hub, "n4", map[message.Resource]string{})
	if d.uses("n1", dcm("a")) {
		t.Error("after the restart, n1 still uses a")
	}
	stop()
	waitUntil(t, "the goroutines of both runs to end", func() error {
		if n := runtime.NumGoroutine(); n > goroutines {
			return fmt.Errorf("%d goroutines, %d before the first run", n, goroutines)
		}
		return nil
	})
}

// TestLoopDropsStaleEvents drives the loop by hand: an event of a watch
// that is not (or no longer) the running one changes nothing.
func TestLoopDropsStaleEvents(t *testing.T) {
	cs := newFakeCluster()
	d, hub := newTestDownstream(t, cs)
	ctx, cancel := context.WithCancel(context.Background())
	r := newRunner(ctx, d)
	defer func() { cancel(); r.wg.Wait() }()

	step := func(ev event) {
		t.Helper()
		if err := r.handle(ev); err != nil {
			t.Fatal(err)
		}
	}
	step(nodeEvent{node: fakeNode("n1", "1", true), name: "n1"})
	w := r.pods["n1"]
	if w == nil {
		t.Fatal("no pod watch for n1")
	}
	step(podEvent{watch: w.id + 100, node: "n1", pod: fakePod("stale", "n1", "2")})
	step(podsSynced{watch: w.id + 100, node: "n1"})
	if w.synced || len(hub.messages()) != 1 {
		t.Fatalf("a stale event changed something: synced %v, %d messages", w.synced, len(hub.messages()))
	}
	step(podEvent{watch: w.id, node: "n1", pod: fakePod("p", "n1", "3", dcm("a"))})
	wa := r.objects[dcm("a")]
	if wa == nil {
		t.Fatal("no watch of a")
	}
	step(objectEvent{watch: wa.id + 100, ref: dcm("a"), obj: fakeCM("a", "4")})
	step(objectEvent{watch: wa.id, ref: dcm("a"), obj: fakeCM("a", "5")})
	step(nodeEvent{name: "n1", gone: true})
	step(podEvent{watch: w.id, node: "n1", pod: fakePod("late", "n1", "6")})
	step(objectEvent{watch: wa.id, ref: dcm("a"), obj: fakeCM("a", "7")})

	var got []string
	for _, m := range hub.messages() {
		got = append(got, fmt.Sprintf("%s %s@%s", m.Route.Operation, m.Route.Resource, m.Header.ResourceVersion))
	}
	want := []string{
		"insert node/n1/null/node/n1@1",
		"insert node/n1/default/pod/p@3",
		"insert node/n1/default/configmap/a@5",
		"delete node/n1/default/pod/p@", "delete node/n1/default/configmap/a@", "delete node/n1/null/node/n1@",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sent:\n got %q\nwant %q", got, want)
	}
	if len(r.pods) != 0 || len(r.objects) != 0 {
		t.Errorf("watches left running: %d pod, %d object", len(r.pods), len(r.objects))
	}
}

func mustDo(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

func waitSet(t *testing.T, hub *hubRecorder, node string, want map[message.Resource]string) {
	t.Helper()
	waitUntil(t, "the set of "+node, func() error { return setIs(hub.sets()[node], want) })
}
