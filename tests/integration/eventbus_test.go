package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/eventbus"
	"github.com/tether-edge/tether/tests/testenv"
)

// TestEventBusExternal runs EventBus against Mosquitto: it delivers device
// publications and publishes the bus's, and after Mosquitto is stopped and
// started again on the same port (without state) it reconnects, subscribes
// again and delivers what devices publish then.
func TestEventBusExternal(t *testing.T) {
	t.Parallel()
	broker := testenv.StartMosquitto(t)
	bus := &ebBus{toModule: make(chan message.Message, 16), sent: make(chan message.Message, 64)}
	c := config.DefaultEdgeCore().EventBus
	c.Mode = config.EventBusExternal
	c.External.Server = broker.Addr
	c.External.ClientID = "tether-edgecore-eventbus-test"
	e, err := eventbus.New(eventbus.Options{
		Config: c, Bus: bus, Deliver: "devicetwin",
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
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
		case <-time.After(10 * time.Second):
			t.Error("Start did not return after cancel")
		}
	})
	waitConnected(t, e, true)

	const twin = "$hw/events/device/default/thermo-1/twin/update"
	device := connect(t, broker.Addr, "device-1")
	bus.waitDelivered(t, device, twin, "first")

	app := connect(t, broker.Addr, "app-1")
	got := make(chan mqtt.Message, 4)
	if tok := app.Subscribe(twin+"/result", 1, func(_ mqtt.Client, m mqtt.Message) { got <- m }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: timed out or %v", tok.Error())
	}
	bus.toModule <- eventbus.NewPublish("devicetwin", twin+"/result", []byte(`{"event_id":"1"}`))
	select {
	case m := <-got:
		if m.Topic() != twin+"/result" || string(m.Payload()) != `{"event_id":"1"}` || m.Qos() != 1 {
			t.Errorf("app got %s %q QoS %d", m.Topic(), m.Payload(), m.Qos())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the app got nothing EventBus published")
	}

	if err := broker.Process.Stop(); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, e, false)
	restartMosquitto(t, broker.Port)
	waitConnected(t, e, true)
	// Mosquitto kept nothing: a delivery proves EventBus subscribed again.
	bus.waitDelivered(t, connect(t, broker.Addr, "device-2"), twin, "after restart")
}

// ebBus is the bus as EventBus sees it: the test puts requests in toModule
// and EventBus's deliveries arrive in sent.
type ebBus struct {
	toModule chan message.Message
	sent     chan message.Message
}

func (b *ebBus) Send(ctx context.Context, m message.Message) error {
	select {
	case b.sent <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *ebBus) Receive(ctx context.Context, _ string) (message.Message, error) {
	select {
	case m := <-b.toModule:
		return m, nil
	case <-ctx.Done():
		return message.Message{}, ctx.Err()
	}
}

// waitDelivered publishes numbered payloads "<label> N" on topic from
// client until one reaches the bus intact (EventBus subscribes in the
// background once connected).
func (b *ebBus) waitDelivered(t *testing.T, client mqtt.Client, topic, label string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		payload := []byte(fmt.Sprintf("%s %d \x00\xff", label, n))
		if tok := client.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %q: timed out or %v", payload, tok.Error())
		}
		select {
		case m := <-b.sent:
			gotTopic, got, ok := eventbus.Publication(m)
			if !ok || gotTopic != topic || !bytes.HasSuffix(got, []byte(" \x00\xff")) || m.Route.Destination != "devicetwin" {
				t.Fatalf("delivered %+v %q, want a publication on %s", m.Route, m.Content, topic)
			}
			if bytes.HasPrefix(got, []byte(label+" ")) {
				return
			}
			// A late one of an earlier label.
		case <-tick.C:
		case <-deadline:
			t.Fatalf("no publication %q reached the bus", label)
		}
	}
}

func waitConnected(t *testing.T, e *eventbus.EventBus, want bool) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("Connected() == %v", want), func() error {
		if e.Connected() != want {
			return errors.New("not yet")
		}
		return nil
	})
}

// restartMosquitto starts Mosquitto again on port, as StartMosquitto
// configures it, and waits until it accepts connections. Cleanup stops it.
func restartMosquitto(t *testing.T, port int) {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	text := fmt.Sprintf("user root\nlistener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"+
		"log_dest stdout\nlog_type all\n", port)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	proc := testenv.StartProcess(t, testenv.Command{Name: "mosquitto-again", Path: testenv.DefaultPaths().Mosquitto, Args: []string{"-c", conf}})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	testenv.WaitFor(t, 10*time.Second, "Mosquitto listening again on "+addr, func() error {
		select {
		case <-proc.Done():
			return fmt.Errorf("mosquitto exited: %v\n%s", proc.Err(), proc.Tail(20))
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	})
}
