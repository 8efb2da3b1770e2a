package testenv

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// A recorder subscribed before the publications sees each one, in order,
// published by mosquitto_pub (any bytes, also invalid JSON); Wait finds the
// first match from an index on and fails, listing what it saw, when
// nothing matches in time.
func TestMQTTRecorder(t *testing.T) {
	t.Parallel()
	broker := StartMosquitto(t)
	rec := RecordMQTT(t, broker.Addr, "$hw/events/#")

	onA := func(m MQTTMessage) bool { return m.Topic == "$hw/events/a" }
	MosquittoPub(t, broker.Addr, "$hw/events/a", []byte(`{"n":1}`))
	// mosquitto_pub returns once the broker has the message, which may be
	// before the recorder does: wait for it before taking the mark.
	if m := rec.Wait(t, 0, 10*time.Second, "first on a", onA); m.Index != 0 || string(m.Payload) != `{"n":1}` {
		t.Errorf("first on a: %v", m)
	}
	MosquittoPub(t, broker.Addr, "other/topic", []byte("ignored"))
	mark := rec.Len()
	MosquittoPub(t, broker.Addr, "$hw/events/a", []byte("{not json\n"))
	MosquittoPub(t, broker.Addr, "$hw/events/b", []byte(`{"n":3}`))

	if m := rec.Wait(t, mark, 10*time.Second, "second on a", onA); m.Index != 1 || string(m.Payload) != "{not json\n" {
		t.Errorf("on a from #%d: %v, want #1 with the raw bytes", mark, m)
	}
	rec.Wait(t, 0, 10*time.Second, "on b", func(m MQTTMessage) bool { return m.Topic == "$hw/events/b" })
	if got := rec.Messages(); len(got) != 3 {
		t.Errorf("recorded %v, want 3 messages (nothing outside the filter)", got)
	}

	p := NewProgramT(t.TempDir(), io.Discard)
	err := p.Run(func(pt T) {
		rec.Wait(pt, 0, 200*time.Millisecond, "on c", func(m MQTTMessage) bool { return m.Topic == "$hw/events/c" })
	})
	p.Close()
	if err == nil || !strings.Contains(err.Error(), "none within 200ms") || !strings.Contains(err.Error(), `#2 $hw/events/b {"n":3}`) {
		t.Errorf("Wait for a message that never comes: %v", err)
	}
}

// Wait stops at once, saying so, when the broker goes away.
func TestMQTTRecorderConnectionLost(t *testing.T) {
	t.Parallel()
	broker := StartMosquitto(t)
	rec := RecordMQTT(t, broker.Addr, "#")
	if err := broker.Process.Stop(); err != nil {
		t.Fatal(err)
	}
	p := NewProgramT(t.TempDir(), io.Discard)
	start := time.Now()
	err := p.Run(func(pt T) {
		rec.Wait(pt, 0, time.Minute, "anything", func(MQTTMessage) bool { return true })
	})
	p.Close()
	if err == nil || !strings.Contains(err.Error(), "lost its connection") || time.Since(start) > 30*time.Second {
		t.Errorf("Wait after the broker stopped: %v after %v", err, time.Since(start))
	}
}

// RecordMQTT waits for a broker that is not listening yet, and fails,
// naming the broker, when none comes.
func TestRecordMQTTNoBroker(t *testing.T) {
	t.Parallel()
	addr := fmt.Sprintf("tcp://127.0.0.1:%d", FreePort(t))
	p := NewProgramT(t.TempDir(), io.Discard)
	start := time.Now()
	err := p.Run(func(pt T) { RecordMQTT(pt, addr, "#") })
	p.Close()
	if err == nil || !strings.Contains(err.Error(), "connect to "+addr) || time.Since(start) < mqttTimeout {
		t.Errorf("RecordMQTT without a broker: %v after %v", err, time.Since(start))
	}
}
