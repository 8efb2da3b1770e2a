package eventbus

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/common/daemon/metricstest"
)

// Publications received and published are counted by direction, and the
// ones dropped by reason.
func TestMetricsCountPublications(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := embeddedConfig(t)
	_, bus := runWith(t, c, NewMetrics(reg))
	const msgs, drops = "tether_eventbus_mqtt_messages_total", "tether_eventbus_mqtt_dropped_total"
	count := func(label, value string) float64 {
		name := msgs
		if label == "reason" {
			name = drops
		}
		return metricstest.Value(t, reg, name, label, value)
	}
	for _, d := range []string{"in", "out"} {
		if n := count("direction", d); n != 0 {
			t.Fatalf("%s %v before any publication", d, n)
		}
	}

	pub := client(t, c.Embedded.Listen, "device", nil)
	for _, payload := range [][]byte{[]byte(`{"event_id":"1"}`), make([]byte, c.MaxPayloadBytes+1), []byte("marker")} {
		if err := done(pub.Publish(twinUpdate, 1, false, payload)); err != nil {
			t.Fatal(err)
		}
	}
	bus.next(t)
	bus.next(t) // the marker: the oversized one, in between, was dropped
	if in, big := count("direction", "in"), count("reason", DropTooLarge); in != 3 || big != 1 {
		t.Errorf("in %v, too_large %v; want 3 received, 1 dropped", in, big)
	}

	sub := client(t, c.Embedded.Listen, "app", nil)
	got := make(chan paho.Message, 1)
	if err := done(sub.Subscribe(twinUpdate+"/result", 1, func(_ paho.Client, m paho.Message) { got <- m })); err != nil {
		t.Fatal(err)
	}
	bus.toModule <- NewPublish("devicetwin", "$hw/events/+/x", []byte("wildcard"))
	bus.toModule <- NewPublish("devicetwin", twinUpdate+"/result", []byte(`{"event_id":"1"}`))
	select {
	case <-got:
	case <-time.After(wait):
		t.Fatal("the subscriber got nothing")
	}
	// Counted once the broker took it, which may be after the delivery.
	waitFor(t, "one publication counted out", func() bool { return count("direction", "out") == 1 })
	if bad := count("reason", DropInvalid); bad != 1 {
		t.Errorf("invalid %v, want the wildcard request dropped", bad)
	}
	if in := count("direction", "in"); in != 3 {
		t.Errorf("in %v after publishing, want still 3 (EventBus does not receive its own)", in)
	}
}

// The collectors pass Prometheus's lint.
func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	metricstest.Lint(t, reg)
}
