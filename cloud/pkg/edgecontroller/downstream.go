package edgecontroller

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
)

// eventQueueSize bounds the queue from the informer handlers to the loop;
// when it is full a handler waits, and its informer buffers the rest.
const eventQueueSize = 1024

// downstream keeps every edge node's desired set in the hub: it watches
// the cluster, feeds a tracker from one loop goroutine and sends what the
// tracker decides. It implements index for the upstream half.
type downstream struct {
	opts Options
	log  *slog.Logger
	// loaded is closed once the first run has put the desired set of
	// every edge node it listed at start in the hub; a later run (after a
	// restart) leaves it closed.
	loaded   chan struct{}
	loadOnce sync.Once

	// mu guards t: the loop changes it, index queries from the upstream
	// workers read it. It outlives a run, so that a restarted run knows
	// what the hub holds and can take back what vanished meanwhile.
	mu sync.RWMutex
	t  *tracker
}

func newDownstream(o Options, log *slog.Logger) *downstream {
	return &downstream{opts: o, log: log, loaded: make(chan struct{}), t: newTracker()}
}

// synced is closed once the initial desired sets are in the hub.
func (d *downstream) synced() <-chan struct{} { return d.loaded }

// node implements index. The Node belongs to the cache: do not change it.
func (d *downstream) node(name string) (*corev1.Node, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.t.node(name)
}

// podOnNode implements index. The Pod belongs to the cache: do not change it.
func (d *downstream) podOnNode(node, namespace, name string) (*corev1.Pod, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.t.pod(node, namespace, name)
}

// uses implements index.
func (d *downstream) uses(node string, ref objectRef) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.t.uses(node, ref)
}

// object returns the configmap or secret ref names, in the edge's form,
// if some edge pod uses it and its watch holds it. It belongs to the
// cache: never change it.
func (d *downstream) object(ref objectRef) (runtime.Object, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.t.object(ref)
}

// run watches the cluster and keeps the hub's desired sets until ctx
// ends; then it stops every informer and waits for them. It fails only
// when the hub cannot be sent to. It may run again after it returned.
func (d *downstream) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	r := newRunner(ctx, d)
	factory := informers.NewSharedInformerFactoryWithOptions(d.opts.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = edgeNodeLabel }),
		informers.WithTransform(forEdge))
	defer func() { // stop, then join
		cancel()
		factory.Shutdown()
		r.wg.Wait()
	}()
	nodes := factory.Core().V1().Nodes().Informer()
	reg, err := nodes.AddEventHandler(nodeHandler(func(ev event) { r.push(ctx, ev) }))
	if err != nil {
		return fmt.Errorf("edgecontroller: watch nodes: %w", err)
	}
	r.resume()
	factory.Start(ctx.Done())
	r.wg.Go(func() {
		select {
		case <-reg.HasSyncedChecker().Done():
			r.push(ctx, nodesSynced{})
		case <-ctx.Done():
		}
	})
	return r.loop()
}

// markLoaded closes loaded, once.
func (d *downstream) markLoaded() {
	d.loadOnce.Do(func() { close(d.loaded) })
}

func (d *downstream) isLoaded() bool {
	select {
	case <-d.loaded:
		return true
	default:
		return false
	}
}
