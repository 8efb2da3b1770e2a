package edgecontroller

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tether-edge/tether/common/message"
)

// fakeCluster is client-go's fake clientset made to honour label and
// field selectors on list and watch as the apiserver does (an object that
// stops matching a watch's selector is a delete for that watch), and to
// count the watches open per resource.
type fakeCluster struct {
	*fake.Clientset

	// mu guards open.
	mu   sync.Mutex
	open map[string]int // by resource
}

func newFakeCluster(objs ...runtime.Object) *fakeCluster {
	f := &fakeCluster{Clientset: fake.NewClientset(objs...), open: map[string]int{}}
	for _, res := range []string{"nodes", "pods", "configmaps", "secrets"} {
		f.PrependReactor("list", res, f.list)
		f.PrependWatchReactor(res, f.watch)
	}
	return f
}

// selectable is the label and field set selectors see.
func selectable(obj runtime.Object) (labels.Set, fields.Set) {
	m, _ := meta.Accessor(obj)
	fs := fields.Set{"metadata.name": m.GetName(), "metadata.namespace": m.GetNamespace()}
	if p, ok := obj.(*corev1.Pod); ok {
		fs["spec.nodeName"] = p.Spec.NodeName
	}
	return labels.Set(m.GetLabels()), fs
}

func matches(obj runtime.Object, l labels.Selector, f fields.Selector) bool {
	ls, fs := selectable(obj)
	return l.Matches(ls) && f.Matches(fs)
}

func (f *fakeCluster) list(action k8stesting.Action) (bool, runtime.Object, error) {
	a := action.(k8stesting.ListActionImpl)
	list, err := f.Tracker().List(a.GetResource(), a.GetKind(), a.GetNamespace())
	if err != nil {
		return true, nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return true, nil, err
	}
	r := a.GetListRestrictions()
	var kept []runtime.Object
	for _, it := range items {
		if matches(it, r.Labels, r.Fields) {
			kept = append(kept, it)
		}
	}
	return true, list, meta.SetList(list, kept)
}

func (f *fakeCluster) watch(action k8stesting.Action) (bool, watch.Interface, error) {
	a := action.(k8stesting.WatchAction)
	r := a.GetWatchRestrictions()
	res := a.GetResource()
	w, err := f.Tracker().Watch(res, a.GetNamespace(), metav1.ListOptions{ResourceVersion: r.ResourceVersion})
	if err != nil {
		return true, nil, err
	}
	matched := map[string]bool{} // what this watch has shown, by namespace/name
	if list, err := f.Tracker().List(res, a.GetResource().GroupVersion().WithKind(fakeKindOf(res.Resource)), a.GetNamespace()); err == nil {
		items, _ := meta.ExtractList(list)
		for _, it := range items {
			matched[fakeKeyOf(it)] = matches(it, r.Labels, r.Fields)
		}
	}
	filtered := watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
		k := fakeKeyOf(e.Object)
		was, now := matched[k], matches(e.Object, r.Labels, r.Fields)
		switch {
		case e.Type == watch.Deleted:
			delete(matched, k)
			return e, was
		case now && was:
			return watch.Event{Type: watch.Modified, Object: e.Object}, true
		case now:
			matched[k] = true
			return watch.Event{Type: watch.Added, Object: e.Object}, true
		case was:
			matched[k] = false
			return watch.Event{Type: watch.Deleted, Object: e.Object}, true
		}
		return e, false
	})
	f.mu.Lock()
	f.open[res.Resource]++
	f.mu.Unlock()
	return true, &countedWatch{Interface: filtered, stop: func() {
		f.mu.Lock()
		f.open[res.Resource]--
		f.mu.Unlock()
	}}, nil
}

func fakeKindOf(resource string) string {
	return map[string]string{"nodes": "Node", "pods": "Pod", "configmaps": "ConfigMap", "secrets": "Secret"}[resource]
}

func fakeKeyOf(obj runtime.Object) string {
	m, _ := meta.Accessor(obj)
	return m.GetNamespace() + "/" + m.GetName()
}

// openWatches is how many watches of resource are open.
func (f *fakeCluster) openWatches(resource string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open[resource]
}

type countedWatch struct {
	watch.Interface
	once sync.Once
	stop func()
}

func (w *countedWatch) Stop() {
	w.once.Do(w.stop)
	w.Interface.Stop()
}

// hubRecorder is a Bus that records what is sent to the hub.
type hubRecorder struct {
	// mu guards got.
	mu  sync.Mutex
	got []message.Message
}

func (h *hubRecorder) Receive(ctx context.Context, _ string) (message.Message, error) {
	<-ctx.Done()
	return message.Message{}, ctx.Err()
}

func (h *hubRecorder) Send(_ context.Context, m message.Message) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, m)
	return nil
}

func (h *hubRecorder) SendResponse(context.Context, message.Message) error { return nil }

func (h *hubRecorder) messages() []message.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]message.Message(nil), h.got...)
}

// sets replays the recorded messages into each node's set, as the hub
// keeps it: key → resourceVersion.
func (h *hubRecorder) sets() map[string]map[message.Resource]string {
	out := map[string]map[message.Resource]string{}
	for _, m := range h.messages() {
		res := m.Route.Resource
		if out[res.Node] == nil {
			out[res.Node] = map[message.Resource]string{}
		}
		if m.Route.Operation == message.OpDelete {
			delete(out[res.Node], res.WithoutNode())
		} else {
			out[res.Node][res.WithoutNode()] = m.Header.ResourceVersion
		}
	}
	return out
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// setIs reports how a node's set differs from want (key → resourceVersion).
func setIs(got map[message.Resource]string, want map[message.Resource]string) error {
	if !maps.Equal(got, want) {
		return fmt.Errorf("set %v, want %v", got, want)
	}
	return nil
}
