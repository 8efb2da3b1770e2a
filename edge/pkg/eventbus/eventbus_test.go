package eventbus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/message"
)

// wait bounds every wait of these tests.
const wait = 10 * time.Second

// fakeBus hands EventBus what a test puts in toModule and passes what
// EventBus sends to sent.
type fakeBus struct {
	toModule chan message.Message
	sent     chan message.Message
}

func newFakeBus() *fakeBus {
	return &fakeBus{toModule: make(chan message.Message, 16), sent: make(chan message.Message, 16)}
}

func (f *fakeBus) Send(ctx context.Context, m message.Message) error {
	select {
	case f.sent <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeBus) Receive(ctx context.Context, module string) (message.Message, error) {
	if module != Name {
		return message.Message{}, fmt.Errorf("receive for %q", module)
	}
	select {
	case m := <-f.toModule:
		return m, nil
	case <-ctx.Done():
		return message.Message{}, ctx.Err()
	}
}

// next is the next message EventBus sent, or a test failure.
func (f *fakeBus) next(t *testing.T) message.Message {
	t.Helper()
	select {
	case m := <-f.sent:
		return m
	case <-time.After(wait):
		t.Fatal("EventBus sent nothing to the bus")
		return message.Message{}
	}
}

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func embeddedConfig(t *testing.T) config.EventBus {
	c := config.DefaultEdgeCore().EventBus
	c.Embedded.Listen = freeAddr(t)
	c.MaxPayloadBytes = 4096
	return c
}

// run starts an EventBus on c until the test ends, and waits until it is
// connected. Cleanup checks that Start returned nil.
func run(t *testing.T, c config.EventBus) (*EventBus, *fakeBus) {
	t.Helper()
	return runWith(t, c, nil)
}

// runWith is run with the given Metrics (nil: New's default).
func runWith(t *testing.T, c config.EventBus, m *Metrics) (*EventBus, *fakeBus) {
	t.Helper()
	bus := newFakeBus()
	e, err := New(Options{Config: c, Bus: bus, Deliver: "devicetwin", Log: testLog(t), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	if e.Connected() {
		t.Error("Connected before Start")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Start: %v", err)
			}
		case <-time.After(wait):
			t.Error("Start did not return after cancel")
		}
		if e.Connected() {
			t.Error("Connected after Start returned")
		}
	})
	waitFor(t, "EventBus connected", e.Connected)
	return e, bus
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// client connects a paho client (MQTT 3.1.1, no reconnect) to addr.
func client(t *testing.T, addr, id string, lost func(error)) paho.Client {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetProtocolVersion(4).SetAutoReconnect(false).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			if lost != nil {
				lost(err)
			}
		})
	c := paho.NewClient(opts)
	if err := done(c.Connect()); err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func done(tok paho.Token) error {
	if !tok.WaitTimeout(wait) {
		return errors.New("timed out")
	}
	return tok.Error()
}

const twinUpdate = "$hw/events/device/default/thermo-1/twin/update"

func TestEmbeddedDeliversPublications(t *testing.T) {
	c := embeddedConfig(t)
	_, bus := run(t, c)
	pub := client(t, c.Embedded.Listen, "device", nil)

	garbage := []byte{0xff, 0x00, 0xfe, '{', '"', 0x80, 0x00}
	for _, tc := range []struct {
		topic   string
		qos     byte
		payload []byte
	}{
		{twinUpdate, 1, []byte(`{"event_id":"1","timestamp":1,"twin":{"temperature":{"actual":{"value":"21"}}}}`)},
		{twinUpdate, 1, garbage},
		{twinUpdate, 0, nil},
		{"$hw/events/device/default/thermo-1/twin/get", 1, []byte(`{"event_id":"2"}`)},
		{"$hw/events/device/default/thermo-1/state/update", 1, []byte(`{"state":"online"}`)},
		{"$hw/events/node/edge-1/membership/get", 0, []byte(`{}`)},
		{"$hw/events/upload/a/b/c", 0, bytes.Repeat([]byte{0xaa}, c.MaxPayloadBytes)},
	} {
		if err := done(pub.Publish(tc.topic, tc.qos, false, tc.payload)); err != nil {
			t.Fatalf("publish %s: %v", tc.topic, err)
		}
		m := bus.next(t)
		topic, payload, ok := Publication(m)
		if !ok || topic != tc.topic || !bytes.Equal(payload, tc.payload) {
			t.Errorf("got %v %q %x, want the publication on %s of %x", ok, topic, payload, tc.topic, tc.payload)
		}
		if m.Route.Destination != "devicetwin" || m.Route.Source != Name {
			t.Errorf("route %+v, want from %s to devicetwin", m.Route, Name)
		}
	}
}

func TestEmbeddedDeliversOnlySubscribedTopics(t *testing.T) {
	c := embeddedConfig(t)
	_, bus := run(t, c)
	pub := client(t, c.Embedded.Listen, "device", nil)

	for _, topic := range []string{
		twinUpdate + "/result", // what EventBus itself publishes
		"$hw/events/device/default/thermo-1/updated",
		"$hw/events/device/default/thermo-1/state/update/result",
		"$hw/events/node/edge-1/membership/updated",
		"$hw/events/device/thermo-1/twin/update", // no namespace level
		"hw/events/upload/x",
		"other",
	} {
		if err := done(pub.Publish(topic, 1, false, "x")); err != nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
	}
	// The broker delivers one client's publications in order: the marker
	// comes first only if none of the above was delivered.
	if err := done(pub.Publish(twinUpdate, 1, false, "marker")); err != nil {
		t.Fatal(err)
	}
	if topic, payload, _ := Publication(bus.next(t)); topic != twinUpdate || string(payload) != "marker" {
		t.Errorf("delivered %s %q, want only the marker on %s", topic, payload, twinUpdate)
	}
}

func TestEmbeddedPublishes(t *testing.T) {
	c := embeddedConfig(t)
	_, bus := run(t, c)
	sub := client(t, c.Embedded.Listen, "app", nil)
	got := make(chan paho.Message, 8)
	for _, topic := range []string{twinUpdate + "/result", "$hw/events/node/edge-1/membership/updated"} {
		if err := done(sub.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) { got <- m })); err != nil {
			t.Fatalf("subscribe %s: %v", topic, err)
		}
	}

	bad := []message.Message{
		NewPublish("devicetwin", "$hw/events/+/x", []byte("wildcard")),
		NewPublish("devicetwin", "", []byte("no topic")),
		message.New("devicetwin", Name, message.OpUpdate, message.Resource{Type: ResourceType, Name: twinUpdate + "/result"}, []byte("wrong op")),
		NewPublication(Name, twinUpdate+"/result", []byte("inbound kind")),
	}
	for _, m := range bad {
		bus.toModule <- m
	}
	for _, tc := range []struct {
		topic, payload string
		qos            byte
	}{
		{twinUpdate + "/result", `{"event_id":"1"}`, 1},
		{"$hw/events/node/edge-1/membership/updated", `{"added_devices":[]}`, 0},
	} {
		bus.toModule <- NewPublish("devicetwin", tc.topic, []byte(tc.payload))
		select {
		case m := <-got:
			if m.Topic() != tc.topic || string(m.Payload()) != tc.payload || m.Qos() != tc.qos || m.Retained() {
				t.Errorf("got %s %q QoS %d retained %v, want %s %q QoS %d not retained",
					m.Topic(), m.Payload(), m.Qos(), m.Retained(), tc.topic, tc.payload, tc.qos)
			}
		case <-time.After(wait):
			t.Fatalf("subscriber got nothing on %s", tc.topic)
		}
	}
}

// TestEmbeddedPayloadLimit: a payload over MaxPayloadBytes is not handed on;
// a packet over MaxPayloadBytes+packetHeadroom is refused by the broker,
// which closes the connection: an MQTT 3.1.1 client sees the connection
// lost (EOF), the publication is not acknowledged.
func TestEmbeddedPayloadLimit(t *testing.T) {
	c := embeddedConfig(t)
	_, bus := run(t, c)
	lost := make(chan error, 1)
	pub := client(t, c.Embedded.Listen, "device", func(err error) { lost <- err })

	if err := done(pub.Publish(twinUpdate, 1, false, make([]byte, c.MaxPayloadBytes+1))); err != nil {
		t.Fatalf("publish MaxPayloadBytes+1: %v", err)
	}
	if err := done(pub.Publish(twinUpdate, 1, false, "marker")); err != nil {
		t.Fatal(err)
	}
	if _, payload, _ := Publication(bus.next(t)); string(payload) != "marker" {
		t.Errorf("delivered %d bytes, want only the marker", len(payload))
	}

	tok := pub.Publish(twinUpdate, 1, false, make([]byte, c.MaxPayloadBytes+packetHeadroom+1))
	select {
	case err := <-lost:
		t.Logf("client saw: %v", err)
	case <-time.After(wait):
		t.Fatal("the broker kept the connection of a client that sent an oversized packet")
	}
	if tok.WaitTimeout(100*time.Millisecond) && tok.Error() == nil {
		t.Error("the oversized publication was acknowledged")
	}
	select {
	case m := <-bus.sent:
		t.Errorf("delivered %d bytes after the oversized packet", len(m.Content))
	default:
	}
}

func TestEmbeddedListenFails(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := config.DefaultEdgeCore().EventBus
	c.Embedded.Listen = l.Addr().String()
	e, err := New(Options{Config: c, Bus: newFakeBus(), Deliver: "devicetwin", Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("Start on a taken port: %v, want a listen error", err)
	}
	if e.Connected() {
		t.Error("Connected after a failed Start")
	}
}

// TestExternalAwayStops: with no broker, Start keeps trying without
// blocking and returns promptly when cancelled.
func TestExternalAwayStops(t *testing.T) {
	c := config.DefaultEdgeCore().EventBus
	c.Mode = config.EventBusExternal
	c.External.Server = "tcp://" + freeAddr(t)
	bus := newFakeBus()
	e, err := New(Options{Config: c, Bus: bus, Deliver: "devicetwin", Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Start(ctx) }()
	// Start is receiving: a publication while away is taken and dropped.
	bus.toModule <- NewPublish("devicetwin", twinUpdate+"/result", []byte("x"))
	bus.toModule <- NewPublish("devicetwin", twinUpdate+"/result", []byte("y"))
	waitFor(t, "both publish requests taken", func() bool { return len(bus.toModule) == 0 })
	if e.Connected() {
		t.Error("Connected with no broker")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Start did not return after cancel")
	}
}

// TestStopLeavesNoGoroutines: after Start returns, the broker's listener,
// connections and loops (embedded) or paho's workers (external) are gone.
func TestStopLeavesNoGoroutines(t *testing.T) {
	for _, mode := range []string{config.EventBusEmbedded, config.EventBusExternal} {
		t.Run(mode, func(t *testing.T) {
			before := runtime.NumGoroutine()
			c := embeddedConfig(t)
			c.Mode = mode
			c.External.Server = "tcp://" + freeAddr(t)
			e, err := New(Options{Config: c, Bus: newFakeBus(), Deliver: "devicetwin", Log: testLog(t)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			stopped := make(chan error, 1)
			go func() { stopped <- e.Start(ctx) }()
			if mode == config.EventBusEmbedded {
				waitFor(t, "embedded broker serving", e.Connected)
				pub := client(t, c.Embedded.Listen, "device", nil)
				if err := done(pub.Publish(twinUpdate, 1, false, "x")); err != nil {
					t.Fatal(err)
				}
				pub.Disconnect(100)
			}
			cancel()
			if err := <-stopped; err != nil {
				t.Fatalf("Start: %v", err)
			}
			waitFor(t, "goroutines back to where they were", func() bool { return runtime.NumGoroutine() <= before })
		})
	}
}
