package edgecontroller

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/tether-edge/tether/common/kubemsg"
)

// edgeNodeLabel marks the nodes EdgeController serves, whatever its value.
const edgeNodeLabel = "node-role.kubernetes.io/edge"

// event is what an informer handler tells the loop; one of the types below.
type event interface{ isEvent() }

// nodeEvent: an edge node was added or changed, or is gone (deleted or
// no longer labelled).
type nodeEvent struct {
	node *corev1.Node // set unless gone
	name string
	gone bool
}

// podEvent: a pod bound to node was added, changed or is gone, as the
// pod watch numbered watch saw it.
type podEvent struct {
	watch           uint64
	node            string
	pod             *corev1.Pod // set unless gone
	namespace, name string
	gone            bool
}

// objectEvent: a watched configmap or secret was added, changed or deleted.
type objectEvent struct {
	watch uint64
	ref   objectRef
	obj   kubeObject // set unless gone
	gone  bool
}

// nodesSynced: the node informer's first list has been handed to the loop.
type nodesSynced struct{}

// podsSynced: the first list of the pod watch of node has been handed to the loop.
type podsSynced struct {
	watch uint64
	node  string
}

// objectSynced: the first list of an object watch has been handed to the loop.
type objectSynced struct {
	watch uint64
	ref   objectRef
}

func (nodeEvent) isEvent()    {}
func (podEvent) isEvent()     {}
func (objectEvent) isEvent()  {}
func (nodesSynced) isEvent()  {}
func (podsSynced) isEvent()   {}
func (objectSynced) isEvent() {}

// handler makes informer callbacks that turn each notification into an
// event with toEvent and push it to the loop. push gives up when the
// informer's context ends, so stopping an informer never waits on the loop.
func handler(push func(event), toEvent func(obj any, gone bool) (event, bool)) cache.ResourceEventHandlerFuncs {
	emit := func(obj any, gone bool) {
		if ev, ok := toEvent(obj, gone); ok {
			push(ev)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { emit(obj, false) },
		UpdateFunc: func(_, obj any) { emit(obj, false) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			emit(obj, true)
		},
	}
}

// nodeHandler is handler for the node informer, except that an update
// that changes only the Node's status is not sent: the edge reports that
// status itself (every few seconds), so sending it back down would only
// echo heartbeats to the node and its SQLite store. The next change of
// metadata or spec carries the status as it is then.
func nodeHandler(push func(event)) cache.ResourceEventHandlerFuncs {
	h := handler(push, nodeEventOf)
	update := h.UpdateFunc
	h.UpdateFunc = func(old, obj any) {
		if o, ok := old.(*corev1.Node); ok {
			if n, ok := obj.(*corev1.Node); ok && statusOnly(o, n) {
				return
			}
		}
		update(old, obj)
	}
	return h
}

// statusOnly reports whether b differs from a in nothing but its status
// and the bookkeeping every write changes.
func statusOnly(a, b *corev1.Node) bool {
	am, bm := a.ObjectMeta, b.ObjectMeta
	am.ResourceVersion, bm.ResourceVersion = "", ""
	am.ManagedFields, bm.ManagedFields = nil, nil
	return equality.Semantic.DeepEqual(am, bm) && equality.Semantic.DeepEqual(a.Spec, b.Spec)
}

func nodeEventOf(obj any, gone bool) (event, bool) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return nil, false
	}
	if gone {
		return nodeEvent{name: n.Name, gone: true}, true
	}
	return nodeEvent{node: n, name: n.Name}, true
}

func podEventOf(watch uint64, node string) func(any, bool) (event, bool) {
	return func(obj any, gone bool) (event, bool) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return nil, false
		}
		ev := podEvent{watch: watch, node: node, namespace: p.Namespace, name: p.Name, gone: gone}
		if !gone {
			ev.pod = p
		}
		return ev, true
	}
}

func objectEventOf(watch uint64, ref objectRef) func(any, bool) (event, bool) {
	return func(obj any, gone bool) (event, bool) {
		o, ok := obj.(kubeObject)
		if !ok {
			return nil, false
		}
		ev := objectEvent{watch: watch, ref: ref, gone: gone}
		if !gone {
			ev.obj = o
		}
		return ev, true
	}
}

// forEdge is every informer's transform: it runs once per object as it
// is decoded, before the cache holds it, and puts it in the edge's form
// (setEdgeForm), so the cached object is sent as it is.
func forEdge(obj any) (any, error) {
	setEdgeForm(obj)
	return obj, nil
}

// setEdgeForm puts obj in the form the edge is sent and answered objects
// in: it drops managedFields (large, and useless at the edge) and sets
// apiVersion and kind, which decoded typed objects lack and the edge
// needs.
func setEdgeForm(obj any) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	kind := ""
	switch obj.(type) {
	case *corev1.Node:
		kind = "Node"
	case *corev1.Pod:
		kind = "Pod"
	case *corev1.ConfigMap:
		kind = "ConfigMap"
	case *corev1.Secret:
		kind = "Secret"
	case *corev1.Event:
		kind = "Event"
	default:
		return
	}
	obj.(runtime.Object).GetObjectKind().SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
}

// podListWatch lists and watches the pods bound to node, as a kubelet does.
func podListWatch(client kubernetes.Interface, node string) cache.ListerWatcher {
	pods := client.CoreV1().Pods(metav1.NamespaceAll)
	return selectedListWatch(client, fields.OneTermEqualSelector("spec.nodeName", node), pods.List, pods.Watch)
}

// objectListWatch lists and watches one configmap or secret by name, as
// the kubelet's watch-based configmap and secret managers do.
func objectListWatch(client kubernetes.Interface, ref objectRef) (cache.ListerWatcher, runtime.Object) {
	byName := fields.OneTermEqualSelector("metadata.name", ref.Name)
	if ref.Kind == kubemsg.TypeSecret {
		secrets := client.CoreV1().Secrets(ref.Namespace)
		return selectedListWatch(client, byName, secrets.List, secrets.Watch), &corev1.Secret{}
	}
	configMaps := client.CoreV1().ConfigMaps(ref.Namespace)
	return selectedListWatch(client, byName, configMaps.List, configMaps.Watch), &corev1.ConfigMap{}
}

// selectedListWatch lists and watches, with a typed client's list and
// watch, the objects selector selects.
func selectedListWatch[L runtime.Object](client kubernetes.Interface, selector fields.Selector,
	list func(context.Context, metav1.ListOptions) (L, error),
	watchObjects func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
	s := selector.String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = s
			return list(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = s
			return watchObjects(ctx, o)
		},
	}
	return cache.ToListWatcherWithWatchListSemantics(lw, client)
}

// watcher is one running pod or object watch of a run.
type watcher struct {
	id     uint64
	cancel context.CancelFunc
	// synced is set once the loop has handled its first list.
	synced bool
	// seen collects the keys (namespace/name) the watch reports before
	// its first list is handled, for a watch resumed from an earlier run
	// (see runner.resume); nil otherwise.
	seen map[string]struct{}
}

// startWatch runs an informer over lw until ctx ends or the watcher is
// cancelled: a plain controller (no shared processor), so a watch costs
// a reflector and one handler goroutine. Its events, then synced once
// its first list has been handed over, go to push. Every goroutine it
// starts is added to wg.
func startWatch(ctx context.Context, wg *sync.WaitGroup, id uint64, lw cache.ListerWatcher, objType runtime.Object,
	push func(context.Context, event), toEvent func(any, bool) (event, bool), synced event) *watcher {
	ctx, cancel := context.WithCancel(ctx)
	_, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw,
		ObjectType:    objType,
		Transform:     forEdge,
		Handler:       handler(func(ev event) { push(ctx, ev) }, toEvent),
	})
	wg.Go(func() { ctrl.RunWithContext(ctx) })
	wg.Go(func() {
		select {
		case <-ctrl.HasSyncedChecker().Done():
			push(ctx, synced)
		case <-ctx.Done():
		}
	})
	return &watcher{id: id, cancel: cancel}
}
