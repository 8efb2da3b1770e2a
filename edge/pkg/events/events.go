package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/common/background"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edgehub"
)

// Name is the module's name on the bus: edge modules send events to it.
const Name = "events"

// Bus is what the recorder needs of beehive.Bus.
type Bus interface {
	Receive(ctx context.Context, module string) (message.Message, error)
	SendSync(ctx context.Context, m message.Message, timeout time.Duration) (message.Message, error)
	SendResponse(ctx context.Context, resp message.Message) error
}

// Options configure a Recorder.
type Options struct {
	// Bus and Logger are required.
	Bus    Bus
	Logger *slog.Logger
	// NodeName is the event source's host; required.
	NodeName string
	// Hub is the module that carries requests to the cloud; required
	// (edgehub.Name in edgecore).
	Hub string
	// QPS and Burst are the token bucket for new events; Buffer bounds the
	// events waiting. All required > 0 (config NodeStatus.EventQPS,
	// EventBurst, EventBuffer).
	QPS    float64
	Burst  int
	Buffer int
	// Now is the clock for timestamps and the token bucket; nil means time.Now.
	Now func() time.Time
	// Jitter returns a number in [0, 1) for the retry back-off; nil means
	// math/rand/v2.
	Jitter func() float64
}

func (o *Options) validate() error {
	var errs []error
	if o.Bus == nil || o.Logger == nil {
		errs = append(errs, errors.New("Bus and Logger are required"))
	}
	if o.NodeName == "" || o.Hub == "" {
		errs = append(errs, errors.New("NodeName and Hub are required"))
	}
	if o.QPS <= 0 || o.Burst < 1 || o.Buffer < 1 {
		errs = append(errs, fmt.Errorf("QPS (%v), Burst (%d) and Buffer (%d) must be positive", o.QPS, o.Burst, o.Buffer))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	return nil
}

// Recorder is the events module.
type Recorder struct {
	opts Options
	log  *slog.Logger
	// mu guards book.
	mu   sync.Mutex
	book *book
	// wake tells the sender that an event came; capacity 1.
	wake chan struct{}
}

// New validates o.
func New(o Options) (*Recorder, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	return &Recorder{
		opts: o,
		log:  o.Logger.With("module", Name),
		book: newBook(o.NodeName, o.QPS, o.Burst, o.Buffer),
		wake: make(chan struct{}, 1),
	}, nil
}

// Name implements beehive.Module.
func (r *Recorder) Name() string { return Name }

// Group implements beehive.Module.
func (r *Recorder) Group() string { return "node" }

// Stats returns the counters; safe to call at any time.
func (r *Recorder) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.book.snapshot()
}

// Start records events and runs a sender while the cloud is connected,
// until ctx ends.
func (r *Recorder) Start(ctx context.Context) error {
	var s background.Task
	defer s.Stop()
	for {
		m, err := r.opts.Bus.Receive(ctx, Name)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("events: receive: %w", err)
		}
		switch m.Route.Operation {
		case edgehub.OpCloudConnected:
			s.Stop()
			s = background.Go(ctx, r.send)
		case edgehub.OpCloudSynced:
			// The hub tells the latest state: if OpCloudSynced replaced
			// OpCloudConnected before delivery, the sender starts here.
			if !s.Started() {
				s = background.Go(ctx, r.send)
			}
		case edgehub.OpCloudDisconnected:
			s.Stop()
		case message.OpInsert:
			r.record(ctx, m)
		default:
			r.log.Debug("ignored a message", "from", m.Route.Source, "op", m.Route.Operation)
		}
	}
}

// record takes in one event message.
func (r *Recorder) record(ctx context.Context, m message.Message) {
	var ev corev1.Event
	err := json.Unmarshal(m.Content, &ev)
	if err == nil {
		err = checkEvent(&ev)
	}
	if err != nil {
		r.log.Warn("dropped a malformed event", "from", m.Route.Source, "err", err)
		r.answer(ctx, m, err)
		return
	}
	now := r.opts.Now()
	r.mu.Lock()
	out := r.book.add(ev, now)
	limited, overflowed, report := r.book.dropReport(now)
	r.mu.Unlock()
	if out == added {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	if report {
		r.log.Warn("dropped events", "rateLimited", limited, "overflowed", overflowed, "qps", r.opts.QPS, "burst", r.opts.Burst, "buffer", r.opts.Buffer)
	}
	r.answer(ctx, m, nil)
}

// answer responds to a sync event message; the bus never blocks on it.
func (r *Recorder) answer(ctx context.Context, m message.Message, err error) {
	if !m.Header.Sync {
		return
	}
	resp := m.Response(Name, message.OpResponse, nil)
	if err != nil {
		resp = m.Response(Name, message.OpError, []byte(err.Error()))
	}
	if err := r.opts.Bus.SendResponse(ctx, resp); err != nil {
		r.log.Debug("response not delivered", "to", m.Route.Source, "err", err)
	}
}

// NewMessage returns the one-way message that asks the events module (to)
// to record ev, from the module source.
func NewMessage(source, to string, ev corev1.Event) (message.Message, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return message.Message{}, fmt.Errorf("encode event: %w", err)
	}
	return message.New(source, to, message.OpInsert, message.Resource{Type: kubemsg.TypeEvent}, body), nil
}
