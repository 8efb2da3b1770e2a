package integration

import (
	"fmt"
	"os/exec"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/tether-edge/tether/tests/testenv"
)

func TestMosquitto(t *testing.T) {
	t.Parallel()
	broker := testenv.StartMosquitto(t)
	const topic = "$hw/events/device/thermometer/twin/update"
	payload := fmt.Sprintf(`{"temperature":"%d"}`, time.Now().UnixNano())

	sub := connect(t, broker.Addr, "tether-test-sub")
	got := make(chan []byte, 1)
	if tok := sub.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- m.Payload():
		default:
		}
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: timed out or %v", tok.Error())
	}

	pub := connect(t, broker.Addr, "tether-test-pub")
	if tok := pub.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish QoS 1: timed out or %v", tok.Error())
	}
	select {
	case p := <-got:
		if string(p) != payload {
			t.Errorf("received %q, want %q", p, payload)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("subscriber received nothing within 10s")
	}

	// The other direction with Mosquitto's own client.
	cliPayload := payload + "-cli"
	pubBin, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		t.Fatalf("mosquitto_pub (Debian package mosquitto-clients) not found: run build/test-deps.sh (make test does)")
	}
	out, err := exec.Command(pubBin, "-h", "127.0.0.1", "-p", fmt.Sprint(broker.Port),
		"-q", "1", "-t", topic, "-m", cliPayload).CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub: %v\n%s", err, out)
	}
	select {
	case p := <-got:
		if string(p) != cliPayload {
			t.Errorf("received %q from mosquitto_pub, want %q", p, cliPayload)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("subscriber received nothing from mosquitto_pub within 10s")
	}
}

func connect(t *testing.T, addr, id string) mqtt.Client {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker(addr).SetClientID(id).SetConnectTimeout(10 * time.Second)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s to %s: timed out or %v", id, addr, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(250) })
	return c
}
