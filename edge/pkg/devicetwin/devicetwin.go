package devicetwin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/common/background"
	"github.com/tether-edge/tether/common/devicemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/eventbus"
	"github.com/tether-edge/tether/edge/pkg/metamanager"
)

// Name is the module's name on the bus.
const Name = "devicetwin"

// workQueueSize bounds the work waiting for each worker; when a queue is
// full the receiving loop waits, and the bus queues behind it.
const workQueueSize = 64

// Bus is what the module needs of beehive.Bus.
type Bus interface {
	Receive(ctx context.Context, module string) (message.Message, error)
	Send(ctx context.Context, m message.Message) error
}

// Store is what the module needs of the local store
// (*metamanager.Store).
type Store interface {
	PutDevice(ctx context.Context, c metamanager.DeviceChange) error
	DeleteDevice(ctx context.Context, namespace, name string) error
	Devices(ctx context.Context) ([]metamanager.DeviceRecord, error)
}

// Options configure a DeviceTwin.
type Options struct {
	// Bus, Store and Logger are required.
	Bus    Bus
	Store  Store
	Logger *slog.Logger
	// NodeName is this node's name, as in membership topics; required.
	NodeName string
	// EventBus is the module that publishes on MQTT; required
	// (eventbus.Name in edgecore).
	EventBus string
	// StatusSink is the module that keeps statuses for the cloud;
	// required (metamanager.Name in edgecore).
	StatusSink string
	// Workers is how many goroutines handle devices; 0 means 8.
	Workers int
	// Now is the clock for timestamps; nil means time.Now.
	Now func() time.Time
}

func (o *Options) validate() error {
	var errs []error
	if o.Bus == nil || o.Store == nil || o.Logger == nil {
		errs = append(errs, errors.New("Bus, Store and Logger are required"))
	}
	if o.NodeName == "" || o.EventBus == "" || o.StatusSink == "" {
		errs = append(errs, errors.New("NodeName, EventBus and StatusSink are required"))
	}
	if o.Workers < 0 {
		errs = append(errs, fmt.Errorf("Workers %d is negative", o.Workers))
	}
	if o.Workers == 0 {
		o.Workers = 8
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("devicetwin: %w", err)
	}
	return nil
}

// DeviceTwin is the module. See the package documentation.
type DeviceTwin struct {
	opts    Options
	log     *slog.Logger
	reg     *registry
	reports *reporter
	uploads atomic.Uint64
}

// New validates o.
func New(o Options) (*DeviceTwin, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	return &DeviceTwin{opts: o, log: o.Logger.With("module", Name)}, nil
}

// Name implements beehive.Module.
func (t *DeviceTwin) Name() string { return Name }

// Group implements beehive.Module.
func (t *DeviceTwin) Group() string { return "twin" }

// Uploads is how many publications on $hw/events/upload/# were dropped.
func (t *DeviceTwin) Uploads() uint64 { return t.uploads.Load() }

// work is one thing for a device's worker to do; exactly one field is set.
type work struct {
	req     *request
	dev     *v1beta1.Device
	deleted *key
	// retype re-applies a device's Device after its model changed.
	retype *key
	// report asks for a device's status to be sent.
	report *key
}

// shardKey is the device the work is about ("" for membership/get).
func (w work) shardKey() string {
	switch {
	case w.req != nil:
		return w.req.device.String()
	case w.dev != nil:
		return key{w.dev.Namespace, w.dev.Name}.String()
	case w.deleted != nil:
		return w.deleted.String()
	case w.retype != nil:
		return w.retype.String()
	case w.report != nil:
		return w.report.String()
	}
	return ""
}

// Start loads the devices the store keeps, then handles messages until
// ctx ends.
func (t *DeviceTwin) Start(ctx context.Context) error {
	if err := t.load(ctx); err != nil {
		return err
	}
	t.reports = newReporter()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { t.reports.run(ctx, t.sendStatus) })
	in := &inbox{t: t, replayed: map[key]bool{}}
	err := background.Sharded(ctx, t.opts.Workers, workQueueSize, in.next, t.handle)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("devicetwin: receive: %w", err)
	}
	return nil
}

// load fills the registry from the store. Parts that cannot be decoded
// are logged and left out; the cloud's Device brings its properties back.
func (t *DeviceTwin) load(ctx context.Context) error {
	records, err := t.opts.Store.Devices(ctx)
	if err != nil {
		return fmt.Errorf("devicetwin: load devices: %w", err)
	}
	t.reg = newRegistry()
	for _, rec := range records {
		d, bad := loaded(rec)
		if len(bad) > 0 {
			t.log.Error("device parts in the local store could not be decoded; left out", "device", d.key, "parts", bad)
		}
		t.reg.devices[d.key] = d
	}
	t.log.Info("loaded devices", "devices", len(records))
	return nil
}

// inbox turns bus messages into work, in order; it runs on Start's
// goroutine only.
type inbox struct {
	t       *DeviceTwin
	pending []work
	// replayed holds the devices MetaManager replayed before OpLoaded;
	// nil after it.
	replayed map[key]bool
}

// next returns the next work, receiving from the bus as needed.
func (in *inbox) next(ctx context.Context) (work, string, error) {
	for len(in.pending) == 0 {
		msg, err := in.t.opts.Bus.Receive(ctx, Name)
		if err != nil {
			return work{}, "", err
		}
		in.route(msg)
	}
	w := in.pending[0]
	in.pending = in.pending[1:]
	return w, w.shardKey(), nil
}

// route decodes a message into work.
func (in *inbox) route(msg message.Message) {
	t := in.t
	if msg.Route.Source == t.opts.EventBus {
		topic, payload, ok := eventbus.Publication(msg)
		if !ok {
			t.log.Debug("ignored a message", "from", msg.Route.Source, "op", msg.Route.Operation)
			return
		}
		req, ok := parseTopic(topic)
		switch {
		case !ok:
			t.log.Debug("ignored a publication on an unknown topic", "topic", topic)
		case req.action == actionUpload:
			t.uploads.Add(1)
			t.log.Debug("dropped an upload publication", "topic", topic)
		default:
			req.payload = payload
			in.pending = append(in.pending, work{req: &req})
		}
		return
	}
	switch op, res := msg.Route.Operation, msg.Route.Resource; {
	case op == metamanager.OpLoaded:
		in.loaded()
	case res.Type == devicemsg.TypeDevice:
		in.device(op, res, msg.Content)
	case res.Type == devicemsg.TypeDeviceModel:
		in.model(op, res, msg.Content)
	}
}

// device queues a Device's change.
func (in *inbox) device(op message.Operation, res message.Resource, content []byte) {
	k := key{res.Namespace, res.Name}
	if op == message.OpDelete {
		in.pending = append(in.pending, work{deleted: &k})
		return
	}
	var d v1beta1.Device
	if err := json.Unmarshal(content, &d); err != nil || d.Namespace != k.Namespace || d.Name != k.Name {
		in.t.log.Error("a Device from the store could not be decoded; ignored", "device", k, "err", err)
		return
	}
	if in.replayed != nil {
		in.replayed[k] = true
	}
	in.pending = append(in.pending, work{dev: &d})
}

// model records a DeviceModel and queues the devices using it.
func (in *inbox) model(op message.Operation, res message.Resource, content []byte) {
	k := key{res.Namespace, res.Name}
	if op == message.OpDelete {
		in.t.reg.setModel(k, nil)
		return
	}
	var m v1beta1.DeviceModel
	if err := json.Unmarshal(content, &m); err != nil {
		in.t.log.Error("a DeviceModel from the store could not be decoded; ignored", "model", k, "err", err)
		return
	}
	in.t.reg.setModel(k, &m)
	for _, dk := range in.t.reg.using(k) {
		in.pending = append(in.pending, work{retype: &dk})
	}
}

// loaded removes the devices the store kept whose Device MetaManager no
// longer holds, and reports the others once: a report made just before
// edgecore stopped may not have been kept.
func (in *inbox) loaded() {
	if in.replayed == nil {
		return
	}
	for _, d := range in.t.reg.all() {
		if in.replayed[d.key] {
			in.pending = append(in.pending, work{report: &d.key})
		} else {
			in.pending = append(in.pending, work{deleted: &d.key})
		}
	}
	in.replayed = nil
}

// handle does one work item on its device's worker.
func (t *DeviceTwin) handle(ctx context.Context, w work) {
	switch {
	case w.req != nil:
		t.serve(ctx, *w.req)
	case w.dev != nil:
		t.applyDevice(ctx, w.dev)
	case w.deleted != nil:
		t.deleteDevice(ctx, *w.deleted)
	case w.report != nil:
		t.reports.mark(*w.report)
	case w.retype != nil:
		if d := t.reg.device(*w.retype); d != nil {
			d.mu.Lock()
			obj := d.obj
			d.mu.Unlock()
			if obj != nil {
				t.applyDevice(ctx, obj)
			}
		}
	}
}

// publish asks EventBus to publish payload on topic.
func (t *DeviceTwin) publish(ctx context.Context, topic string, payload []byte) {
	if payload == nil {
		return
	}
	if err := t.opts.Bus.Send(ctx, eventbus.NewPublish(Name, topic, payload)); err != nil && ctx.Err() == nil {
		t.log.Warn("publication not handed to the event bus", "topic", topic, "err", err)
	}
}
