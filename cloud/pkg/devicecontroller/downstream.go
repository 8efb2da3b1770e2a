package devicecontroller

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/tether-edge/tether/common/apis/devices/client"
	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/common/message"
)

// eventQueueSize bounds the informer events waiting for the loop; when it
// is full the handlers wait, and their informers buffer.
const eventQueueSize = 1024

// event is one informer event, or (synced) the mark that both first
// lists are queued before it.
type event struct {
	dev      *v1beta1.Device
	model    *v1beta1.DeviceModel
	delDev   *key
	delModel *key
	synced   bool
}

// downstream runs the informers and the loop that feeds the tracker and
// sends its messages to the hub.
type downstream struct {
	opts Options
	log  *slog.Logger

	// mu guards tr: the loop writes, authorization reads.
	mu sync.RWMutex
	tr *tracker

	synced   chan struct{}
	syncOnce sync.Once
}

func newDownstream(o Options, log *slog.Logger) *downstream {
	return &downstream{opts: o, log: log, tr: newTracker(), synced: make(chan struct{})}
}

// device returns the cached Device k (never change it).
func (d *downstream) device(k key) (*v1beta1.Device, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.tr.device(k)
}

// run starts the model informer, then, once its first list is queued, the
// device informer (so models go first), and applies their events in order
// until ctx ends; then it stops the informers and waits for them. It fails
// only when sending to the hub does.
func (d *downstream) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	events := make(chan event, eventQueueSize)
	models, devices, err := d.informers()
	if err != nil {
		return err
	}
	modelReg, err := models.AddEventHandler(handler(ctx, events, modelEvent, modelKey))
	if err != nil {
		return fmt.Errorf("devicecontroller: model handler: %w", err)
	}
	devReg, err := devices.AddEventHandler(handler(ctx, events, deviceEvent, deviceKey))
	if err != nil {
		return fmt.Errorf("devicecontroller: device handler: %w", err)
	}
	wg.Go(func() { models.RunWithContext(ctx) })
	wg.Go(func() {
		if !cache.WaitForCacheSync(ctx.Done(), modelReg.HasSynced) {
			return
		}
		wg.Go(func() { devices.RunWithContext(ctx) })
		if !cache.WaitForCacheSync(ctx.Done(), devReg.HasSynced) {
			return
		}
		select {
		case events <- event{synced: true}:
		case <-ctx.Done():
		}
	})
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-events:
			if err := d.handle(ctx, e, devices.GetStore(), models.GetStore()); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// handle applies one event to the tracker and sends what it says.
func (d *downstream) handle(ctx context.Context, e event, devices, models cache.Store) error {
	d.mu.Lock()
	var sends []send
	switch {
	case e.dev != nil:
		sends = d.tr.upsertDevice(e.dev)
	case e.model != nil:
		sends = d.tr.upsertModel(e.model)
	case e.delDev != nil:
		sends = d.tr.deleteDevice(*e.delDev)
	case e.delModel != nil:
		sends = d.tr.deleteModel(*e.delModel)
	case e.synced:
		sends = d.pruneLocked(devices, models)
	}
	d.mu.Unlock()
	for _, s := range sends {
		if err := d.send(ctx, s); err != nil {
			return err
		}
	}
	if e.synced {
		d.syncOnce.Do(func() { close(d.synced) })
		d.log.Info("devices synced")
	}
	return nil
}

// pruneLocked forgets what the tracker holds but the informers' stores do
// not: objects deleted while a previous run was not watching.
func (d *downstream) pruneLocked(devices, models cache.Store) []send {
	var sends []send
	for k := range d.tr.devices {
		if _, ok, _ := devices.GetByKey(k.Namespace + "/" + k.Name); !ok {
			sends = append(sends, d.tr.deleteDevice(k)...)
		}
	}
	for k := range d.tr.models {
		if _, ok, _ := models.GetByKey(k.Namespace + "/" + k.Name); !ok {
			sends = append(sends, d.tr.deleteModel(k)...)
		}
	}
	return sends
}

// send puts one tracker message in the hub.
func (d *downstream) send(ctx context.Context, s send) error {
	var content []byte
	if s.obj != nil {
		b, err := json.Marshal(s.obj)
		if err != nil {
			return fmt.Errorf("devicecontroller: encode %s %s: %w", s.kind, s.res, err)
		}
		content = b
	}
	m := message.New(Name, d.opts.Hub, s.op, s.res, content)
	m.Header.ResourceVersion = s.rv
	if err := d.opts.Bus.Send(ctx, m); err != nil {
		return fmt.Errorf("devicecontroller: send %s %s: %w", s.op, s.res, err)
	}
	return nil
}

// informers returns the DeviceModel and Device informers, their caches
// holding the edge form.
func (d *downstream) informers() (models, devices cache.SharedIndexInformer, err error) {
	c := d.opts.Client
	models, err = informer(c, &v1beta1.DeviceModel{}, v1beta1.DeviceModelKind,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.DeviceModels("").List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.DeviceModels("").Watch(ctx, o)
		})
	if err != nil {
		return nil, nil, err
	}
	devices, err = informer(c, &v1beta1.Device{}, v1beta1.DeviceKind,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.Devices("").List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.Devices("").Watch(ctx, o)
		})
	return models, devices, err
}

// informer watches every object of one kind in every namespace.
func informer(c *client.Client, example runtime.Object, kind string,
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchAll func(context.Context, metav1.ListOptions) (watch.Interface, error)) (cache.SharedIndexInformer, error) {
	lw := &cache.ListWatch{ListWithContextFunc: list, WatchFuncWithContext: watchAll}
	// The wrapper turns streaming lists off if c says it cannot serve them.
	inf := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, c), example, 0, cache.Indexers{})
	if err := inf.SetTransform(edgeForm(kind)); err != nil {
		return nil, fmt.Errorf("devicecontroller: %s informer: %w", kind, err)
	}
	return inf, nil
}

// edgeForm puts cached objects in the form the edge is sent: apiVersion
// and kind set, managedFields (large and useless there) and a Device's
// status dropped. Sending then needs no copy.
func edgeForm(kind string) cache.TransformFunc {
	return func(obj any) (any, error) {
		if o, ok := obj.(interface {
			metav1.Object
			runtime.Object
		}); ok {
			o.SetManagedFields(nil)
			o.GetObjectKind().SetGroupVersionKind(v1beta1.SchemeGroupVersion.WithKind(kind))
		}
		if d, ok := obj.(*v1beta1.Device); ok {
			// The status is the edge's own report; the tracker does not
			// resend a Device whose status alone changed, so it is left
			// out rather than kept stale.
			d.Status = v1beta1.DeviceStatus{}
		}
		return obj, nil
	}
}

// handler turns informer callbacks into events on q; it waits while q is
// full, until ctx ends.
func handler(ctx context.Context, q chan<- event, upsert func(any) (event, bool), del func(key) event) cache.ResourceEventHandler {
	put := func(e event) {
		select {
		case q <- e:
		case <-ctx.Done():
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if e, ok := upsert(obj); ok {
				put(e)
			}
		},
		UpdateFunc: func(_, obj any) {
			if e, ok := upsert(obj); ok {
				put(e)
			}
		},
		DeleteFunc: func(obj any) {
			k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
			if err != nil {
				return
			}
			ns, name, err := cache.SplitMetaNamespaceKey(k)
			if err != nil {
				return
			}
			put(del(key{ns, name}))
		},
	}
}

func deviceEvent(obj any) (event, bool) {
	d, ok := obj.(*v1beta1.Device)
	return event{dev: d}, ok
}

func modelEvent(obj any) (event, bool) {
	m, ok := obj.(*v1beta1.DeviceModel)
	return event{model: m}, ok
}

func deviceKey(k key) event { return event{delDev: &k} }
func modelKey(k key) event  { return event{delModel: &k} }
