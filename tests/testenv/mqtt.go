package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// mqttTimeout bounds connecting, subscribing and one mosquitto_pub run.
const mqttTimeout = 10 * time.Second

// recorderIDs numbers the recorders' MQTT client IDs within this process.
var recorderIDs atomic.Int64

// MQTTMessage is one publication an MQTTRecorder received.
type MQTTMessage struct {
	// Index is its position in the recording, from 0.
	Index   int
	Topic   string
	Payload []byte
}

// String is the message as a log line: index, topic and payload.
func (m MQTTMessage) String() string { return fmt.Sprintf("#%d %s %s", m.Index, m.Topic, m.Payload) }

// MQTTRecorder is an MQTT client that records, in order, every publication
// on the filter it subscribed. Its methods are safe from any goroutine.
type MQTTRecorder struct {
	client mqtt.Client
	filter string

	// mu guards the fields below it.
	mu   sync.Mutex
	msgs []MQTTMessage
	// lost is why the connection ended; nil while connected.
	lost error
	// changed is closed, and replaced, when a message arrives or the
	// connection is lost.
	changed chan struct{}
}

// RecordMQTT connects a paho client (MQTT 3.1.1, clean session, no
// automatic reconnection) to broker ("tcp://host:port"), trying for 10s,
// and subscribes
// filter with QoS 1; when it returns, the subscription is in place, so
// every later publication on filter is recorded. Cleanup disconnects.
func RecordMQTT(t T, broker, filter string) *MQTTRecorder {
	t.Helper()
	r := &MQTTRecorder{filter: filter, changed: make(chan struct{})}
	id := fmt.Sprintf("tether-test-recorder-%d", recorderIDs.Add(1))
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(mqttTimeout).SetOrderMatters(true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { r.connectionLost(err) })
	r.client = mqtt.NewClient(opts)
	// A broker that has just started may not listen yet: retry until the
	// deadline.
	err := poll(mqttTimeout, nil, func() error {
		if tok := r.client.Connect(); !tok.WaitTimeout(mqttTimeout) || tok.Error() != nil {
			return tokenError(tok)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("MQTT recorder: connect to %s: %v", broker, err)
	}
	t.Cleanup(func() { r.client.Disconnect(250) })
	if tok := r.client.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) { r.record(m) }); !tok.WaitTimeout(mqttTimeout) || tok.Error() != nil {
		t.Fatalf("MQTT recorder: subscribe %s at %s: %v", filter, broker, tokenError(tok))
	}
	return r
}

// tokenError is tok's error, or a timeout error when it has none yet.
func tokenError(tok mqtt.Token) error {
	if err := tok.Error(); err != nil {
		return err
	}
	return fmt.Errorf("no answer within %v", mqttTimeout)
}

func (r *MQTTRecorder) record(m mqtt.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, MQTTMessage{Index: len(r.msgs), Topic: m.Topic(), Payload: bytes.Clone(m.Payload())})
	r.notifyLocked()
}

func (r *MQTTRecorder) connectionLost(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lost = fmt.Errorf("MQTT recorder lost its connection: %w", err)
	r.notifyLocked()
}

func (r *MQTTRecorder) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Len is how many messages have been recorded so far: pass it to Wait as
// from to look only at messages that arrive after this point.
func (r *MQTTRecorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// Messages returns a copy of the recording.
func (r *MQTTRecorder) Messages() []MQTTMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]MQTTMessage(nil), r.msgs...)
}

// Wait returns the first recorded message with Index ≥ from that match
// accepts, waiting for it until timeout. It fails the test, listing what
// was recorded since from, when none arrives in time or the connection is
// lost first.
func (r *MQTTRecorder) Wait(t T, from int, timeout time.Duration, what string, match func(MQTTMessage) bool) MQTTMessage {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	next := from
	for {
		r.mu.Lock()
		msgs, lost, changed := r.msgs[min(next, len(r.msgs)):], r.lost, r.changed
		r.mu.Unlock()
		for _, m := range msgs {
			if match(m) {
				return m
			}
		}
		next += len(msgs)
		if lost != nil {
			t.Fatalf("wait for MQTT %s: %v; recorded since #%d:\n%s", what, lost, from, r.since(from))
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("wait for MQTT %s: none within %v on %s; recorded since #%d:\n%s", what, timeout, r.filter, from, r.since(from))
		}
	}
}

// since lists the messages from index from on, one a line.
func (r *MQTTRecorder) since(from int) string {
	var b bytes.Buffer
	for _, m := range r.Messages() {
		if m.Index >= from {
			fmt.Fprintln(&b, m)
		}
	}
	if b.Len() == 0 {
		return "(nothing)"
	}
	return b.String()
}

// MosquittoPub publishes payload on topic at broker ("tcp://host:port")
// with QoS 1 by running Mosquitto's own client, mosquitto_pub (payload on
// its stdin, so any bytes go), as a device or an operator would. It fails
// the test when mosquitto_pub is missing or fails.
func MosquittoPub(t T, broker, topic string, payload []byte) {
	t.Helper()
	bin := DefaultPaths().MosquittoPub
	requireFile(t, "mosquitto_pub (Debian package mosquitto-clients)", bin)
	u, err := url.Parse(broker)
	if err != nil || u.Hostname() == "" || u.Port() == "" {
		t.Fatalf("mosquitto_pub: broker %q is not tcp://host:port", broker)
	}
	ctx, cancel := context.WithTimeout(context.Background(), mqttTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-h", u.Hostname(), "-p", u.Port(), "-q", "1", "-t", topic, "-s")
	cmd.Stdin = bytes.NewReader(payload)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub -t %s to %s: %v\n%s", topic, broker, err, out)
	}
}
