package tunnel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/wire"
)

// countMeter is a Meter that adds up what it is told.
type countMeter struct {
	// mu guards the counts.
	mu                            sync.Mutex
	readMsgs, readBytes           int
	writes, wroteMsgs, wroteBytes int
}

func (m *countMeter) Read(frameBytes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.readMsgs++
	m.readBytes += frameBytes
}

func (m *countMeter) Wrote(msgs, frameBytes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	m.wroteMsgs += msgs
	m.wroteBytes += frameBytes
}

// check fails unless m counted msgs messages of bytes frame bytes each way.
func (m *countMeter) check(t *testing.T, side string, msgs, bytes int) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.readMsgs != msgs || m.readBytes != bytes {
		t.Errorf("%s read %d messages of %d bytes, want %d of %d", side, m.readMsgs, m.readBytes, msgs, bytes)
	}
	if m.wroteMsgs != msgs || m.wroteBytes != bytes {
		t.Errorf("%s wrote %d messages of %d bytes, want %d of %d", side, m.wroteMsgs, m.wroteBytes, msgs, bytes)
	}
}

// encodedLen is the bytes of ms' wire frames.
func encodedLen(t *testing.T, ms []message.Message) int {
	t.Helper()
	n := 0
	for _, m := range ms {
		b, err := wire.Codec{}.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		n += len(b)
	}
	return n
}

// TestMeterCountsFrames: both ends' meters count every message read and
// written and its encoded frame's length, over batches that each transport
// cuts into several chunks (a 1 MiB message among small ones); an end
// without a meter works the same.
func TestMeterCountsFrames(t *testing.T) {
	ms := testMessages(300)
	want := encodedLen(t, ms)
	for _, tr := range transports {
		for _, clientMetered := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/client metered %v", tr, clientMetered), func(t *testing.T) {
				var server, client countMeter
				done := make(chan error, 1)
				s := startTestServer(t, tr, ServerOptions{Meter: &server, Handle: func(_ context.Context, _ string, c Conn) {
					err := readAll(c, ms)
					if err == nil {
						err = writeBatches(c, ms)
					}
					done <- err
					drain(c)
				}})
				o := DialOptions{TLS: s.pki.node}
				if clientMetered {
					o.Meter = &client
				}
				c, err := s.dialOptions(o)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close("")
				if err := writeBatches(c, ms); err != nil {
					t.Fatal(err)
				}
				if err := readAll(c, ms); err != nil {
					t.Fatalf("client: %v", err)
				}
				if err := <-done; err != nil {
					t.Fatalf("server: %v", err)
				}
				server.check(t, "server", len(ms), want)
				if clientMetered {
					client.check(t, "client", len(ms), want)
				}
			})
		}
	}
}

// TestMeterSkipsFailedWrites: a Write that fails, whether encoding a
// message or on a closed conn, counts nothing, not even the messages
// before the one that failed.
func TestMeterSkipsFailedWrites(t *testing.T) {
	small := message.Message{Route: message.Route{Operation: message.OpQuery}}
	big := message.Message{Route: message.Route{Operation: message.OpInsert}, Content: make([]byte, 16<<10)}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			s := startTestServer(t, tr, ServerOptions{})
			var m countMeter
			c, err := s.dialOptions(DialOptions{TLS: s.pki.node, Codec: wire.Codec{MaxFrameSize: 1 << 10}, Meter: &m})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Write([]message.Message{small, big}); !errors.Is(err, wire.ErrFrameTooLarge) {
				t.Fatalf("Write over the limit: %v, want wire.ErrFrameTooLarge", err)
			}
			if err := c.Write(nil); err != nil {
				t.Fatalf("empty Write: %v", err)
			}
			if err := c.Write([]message.Message{small}); err != nil {
				t.Fatalf("Write: %v", err)
			}
			_ = c.Close("")
			if err := c.Write([]message.Message{small}); err == nil {
				t.Fatal("Write after Close succeeded")
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			if want := encodedLen(t, []message.Message{small}); m.writes != 1 || m.wroteMsgs != 1 || m.wroteBytes != want {
				t.Errorf("meter saw %d writes of %d messages, %d bytes; want 1 write of 1 message, %d bytes", m.writes, m.wroteMsgs, m.wroteBytes, want)
			}
		})
	}
}
