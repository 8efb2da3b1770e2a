package eventbus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/message"
)

// Bus is what EventBus needs of beehive.
type Bus interface {
	Send(ctx context.Context, m message.Message) error
	Receive(ctx context.Context, module string) (message.Message, error)
}

// Options configure an EventBus.
type Options struct {
	// Config is the eventBus section; it must be valid (config.EdgeCore
	// Validate) and enabled.
	Config config.EventBus
	// Bus is required.
	Bus Bus
	// Deliver is the module publications are handed to ("devicetwin");
	// required.
	Deliver string
	// Log is required.
	Log *slog.Logger
	// Metrics counts publications in and out and those dropped; nil means
	// collectors on a registry of their own (counted, never served).
	Metrics *Metrics
}

// broker is the MQTT side EventBus runs on: the embedded broker or a client
// of an external one.
type broker interface {
	// start subscribes Subscriptions and calls deliver for each
	// publication until stop; deliver may block.
	start(ctx context.Context, deliver func(ctx context.Context, topic string, payload []byte)) error
	// publish publishes payload on topic, not retained.
	publish(topic string, payload []byte, qos byte) error
	connected() bool
	// stop ends what start began and joins it.
	stop()
}

// EventBus is the beehive module between MQTT and the bus. See the package
// documentation.
type EventBus struct {
	opts Options
	// password is read from Config.External.PasswordFile by New.
	password string

	// mu guards current.
	mu sync.Mutex
	// current is the broker of the running Start; nil outside one.
	current broker
}

// New checks opts and reads the external broker's password file.
func New(opts Options) (*EventBus, error) {
	switch {
	case opts.Bus == nil:
		return nil, errors.New("eventbus: Bus is required")
	case opts.Log == nil:
		return nil, errors.New("eventbus: Log is required")
	case opts.Deliver == "":
		return nil, errors.New("eventbus: Deliver is required")
	case !opts.Config.Enable:
		return nil, errors.New("eventbus: the eventBus section is disabled")
	case opts.Config.MaxPayloadBytes < 1:
		return nil, errors.New("eventbus: maxPayloadBytes must be positive")
	case opts.Config.Mode != config.EventBusEmbedded && opts.Config.Mode != config.EventBusExternal:
		return nil, fmt.Errorf("eventbus: unknown mode %q", opts.Config.Mode)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	e := &EventBus{opts: opts}
	if f := opts.Config.External.PasswordFile; opts.Config.Mode == config.EventBusExternal && f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("eventbus: read password file: %w", err)
		}
		e.password = string(bytes.TrimRight(b, "\r\n"))
	}
	return e, nil
}

// Name implements beehive.Module.
func (e *EventBus) Name() string { return Name }

// Group implements beehive.Module.
func (e *EventBus) Group() string { return "bus" }

// Connected reports whether EventBus can take and send publications now:
// the embedded broker is serving, or the client is connected to the external
// broker.
func (e *EventBus) Connected() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.current != nil && e.current.connected()
}

// Start runs the broker (or connects to the external one) and publishes
// what the bus asks until ctx ends. It fails only when the embedded broker
// cannot listen; an external broker that is away is retried meanwhile.
func (e *EventBus) Start(ctx context.Context) error {
	b := e.newBroker()
	if err := b.start(ctx, e.deliver); err != nil {
		return err
	}
	e.setCurrent(b)
	defer func() {
		e.setCurrent(nil)
		b.stop()
	}()
	for {
		m, err := e.opts.Bus.Receive(ctx, Name)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("receive: %w", err)
		}
		e.publish(b, m)
	}
}

func (e *EventBus) newBroker() broker {
	if e.opts.Config.Mode == config.EventBusExternal {
		return newExternal(e.opts.Config, e.password, e.opts.Log)
	}
	return newEmbedded(e.opts.Config, e.opts.Log)
}

func (e *EventBus) setCurrent(b broker) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.current = b
}

// publish publishes what m asks, or logs and drops m.
func (e *EventBus) publish(b broker, m message.Message) {
	topic, payload, ok := publishRequest(m)
	if !ok {
		e.opts.Metrics.invalid.Inc()
		e.opts.Log.Warn("dropped a message EventBus cannot publish", "source", m.Route.Source,
			"operation", m.Route.Operation, "resource", m.Route.Resource.String())
		return
	}
	if err := b.publish(topic, payload, QoS(topic)); err != nil {
		e.opts.Metrics.publishError.Inc()
		e.opts.Log.Warn("publish failed", "topic", topic, "source", m.Route.Source, "err", err)
		return
	}
	e.opts.Metrics.out.Inc()
}

// deliver hands one publication to the Deliver module, waiting for room in
// its queue (back-pressure on the publisher) until ctx ends.
func (e *EventBus) deliver(ctx context.Context, topic string, payload []byte) {
	e.opts.Metrics.in.Inc()
	if len(payload) > e.opts.Config.MaxPayloadBytes {
		e.opts.Metrics.tooLarge.Inc()
		e.opts.Log.Warn("dropped a publication over maxPayloadBytes", "topic", topic,
			"bytes", len(payload), "maxPayloadBytes", e.opts.Config.MaxPayloadBytes)
		return
	}
	m := NewPublication(e.opts.Deliver, topic, bytes.Clone(payload))
	if err := e.opts.Bus.Send(ctx, m); err != nil {
		e.opts.Metrics.busDrop.Inc()
		e.opts.Log.Warn("dropped a publication the bus did not take", "topic", topic, "err", err)
	}
}
