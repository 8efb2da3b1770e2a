package eventbus

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/tether-edge/tether/common/config"
)

// packetHeadroom is what the embedded broker allows in a packet beyond
// MaxPayloadBytes: the fixed header, the topic name, the packet ID and MQTT 5
// properties. A payload between MaxPayloadBytes and that is dropped by
// EventBus instead (deliver).
const packetHeadroom = 1024

// embedded is mochi-mqtt's broker, listening on TCP; EventBus subscribes and
// publishes through the broker's inline client, without a connection.
type embedded struct {
	listen     string
	maxPayload int
	log        *slog.Logger

	server  *mqtt.Server
	cancel  context.CancelFunc
	running atomic.Bool
}

func newEmbedded(c config.EventBus, log *slog.Logger) *embedded {
	return &embedded{listen: c.Embedded.Listen, maxPayload: c.MaxPayloadBytes, log: log}
}

func (b *embedded) start(ctx context.Context, deliver func(context.Context, string, []byte)) error {
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = uint32(b.maxPayload + packetHeadroom)
	s := mqtt.New(&mqtt.Options{
		Capabilities:           caps,
		InlineClient:           true,
		Logger:                 b.log.With("component", "mqtt-broker"),
		SysTopicResendInterval: 60,
	})
	if err := s.AddHook(new(allowAll), nil); err != nil {
		return fmt.Errorf("embedded broker: allow anonymous clients: %w", err)
	}
	if err := s.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: b.listen})); err != nil {
		return fmt.Errorf("embedded broker: listen on %s: %w", b.listen, err)
	}
	ctx, b.cancel = context.WithCancel(ctx)
	for i, sub := range Subscriptions() {
		err := s.Subscribe(sub.Filter, i+1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
			deliver(ctx, pk.TopicName, pk.Payload)
		})
		if err != nil {
			b.cancel()
			s.Close()
			return fmt.Errorf("embedded broker: subscribe %s: %w", sub.Filter, err)
		}
	}
	if err := s.Serve(); err != nil {
		b.cancel()
		s.Close()
		return fmt.Errorf("embedded broker: serve: %w", err)
	}
	b.server = s
	b.running.Store(true)
	b.log.Info("embedded MQTT broker listening", "address", b.listen)
	return nil
}

func (b *embedded) publish(topic string, payload []byte, qos byte) error {
	return b.server.Publish(topic, payload, false, qos)
}

func (b *embedded) connected() bool { return b.running.Load() }

// stop cancels deliveries waiting for the bus, then closes the listener and
// every client connection and waits for their goroutines.
func (b *embedded) stop() {
	b.running.Store(false)
	b.cancel()
	b.server.Close()
}

// allowAll lets every client connect, publish and subscribe: the embedded
// broker is anonymous (mochi-mqtt refuses everyone without an auth hook).
type allowAll struct{ mqtt.HookBase }

func (*allowAll) ID() string { return "tether-allow-all" }

func (*allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

func (*allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

func (*allowAll) OnACLCheck(*mqtt.Client, string, bool) bool { return true }
