package tunnel

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/wire"
)

// testMessages returns n messages with varied content, and one of 1 MiB
// at index n/2.
func testMessages(n int) []message.Message {
	ms := make([]message.Message, 0, n+1)
	for i := range n {
		res := message.Resource{Namespace: "default", Type: "pod", Name: fmt.Sprint("web-", i)}
		m := message.New("edgehub", "cloudhub", message.OpUpdate, res, bytes.Repeat([]byte{byte(i)}, i%300))
		m.Header.Seq = uint64(i + 1)
		ms = append(ms, m)
	}
	big := message.New("edgehub", "cloudhub", message.OpInsert, message.Resource{Type: "blob"},
		bytes.Repeat([]byte("0123456789abcdef"), 1<<16))
	return append(ms[:n/2], append([]message.Message{big}, ms[n/2:]...)...)
}

// writeBatches writes ms in batches of varied sizes (1, 64, 7, 2, 200, ...).
func writeBatches(c Conn, ms []message.Message) error {
	sizes := []int{1, 64, 7, 2, 200}
	for i, k := 0, 0; i < len(ms); k++ {
		n := min(sizes[k%len(sizes)], len(ms)-i)
		if err := c.Write(ms[i : i+n]); err != nil {
			return fmt.Errorf("write batch at %d: %w", i, err)
		}
		i += n
	}
	return nil
}

// readAll reads len(want) messages and checks them against want.
func readAll(c Conn, want []message.Message) error {
	for i, w := range want {
		m, err := c.Read()
		if err != nil {
			return fmt.Errorf("read message %d of %d: %w", i, len(want), err)
		}
		if m.Header != w.Header || m.Route != w.Route || !bytes.Equal(m.Content, w.Content) {
			return fmt.Errorf("message %d: got %+v (%d bytes), want %+v (%d bytes)", i, m.Header, len(m.Content), w.Header, len(w.Content))
		}
	}
	return nil
}

// TestConnRoundTrip sends many messages up, in batches and with one of
// 1 MiB, and the server sends them back down the same way.
func TestConnRoundTrip(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ms := testMessages(500)
			done := make(chan error, 1)
			s := startTestServer(t, tr, ServerOptions{Handle: func(_ context.Context, node string, c Conn) {
				err := readAll(c, ms)
				if err == nil && node != "edge-1" {
					err = fmt.Errorf("Handle got node %q, want edge-1", node)
				}
				if err == nil {
					err = writeBatches(c, ms)
				}
				done <- err
				drain(c)
			}})
			c := s.dial(t)
			if got := c.Transport(); got != tr {
				t.Errorf("Transport() = %q, want %q", got, tr)
			}
			if err := writeBatches(c, ms); err != nil {
				t.Fatal(err)
			}
			if err := readAll(c, ms); err != nil {
				t.Fatalf("client: %v", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("server: %v", err)
			}
		})
	}
}

// TestWebSocketBatchIsOneMessage checks the WebSocket contract with a plain
// WebSocket client: one Write of 64 messages is one binary WS message
// holding their frames back to back.
func TestWebSocketBatchIsOneMessage(t *testing.T) {
	ms := testMessages(64)[:64]
	ms[32].Content = []byte("small instead of 1 MiB")
	s := startTestServer(t, TransportWebSocket, ServerOptions{Handle: func(_ context.Context, _ string, c Conn) {
		if err := c.Write(ms); err != nil {
			t.Errorf("server Write: %v", err)
		}
		drain(c)
	}})
	d := websocket.Dialer{TLSClientConfig: s.pki.node}
	ws, _, err := d.Dial("wss://"+s.addr+WebSocketPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	typ, data, err := ws.ReadMessage()
	if err != nil || typ != websocket.BinaryMessage {
		t.Fatalf("ReadMessage: type %d, %v", typ, err)
	}
	r := bytes.NewReader(data)
	for i, w := range ms {
		m, err := wire.Codec{}.ReadFrame(r)
		if err != nil {
			t.Fatalf("frame %d of the WS message: %v", i, err)
		}
		if m.Header != w.Header {
			t.Fatalf("frame %d: header %+v, want %+v", i, m.Header, w.Header)
		}
	}
	if r.Len() != 0 {
		t.Errorf("%d bytes after the 64 frames", r.Len())
	}
}

// TestConnFrameOverLimit: a frame over the server's limit fails the
// server's Read; the server goes on serving others. A message over the
// writer's own limit fails Write and leaves the conn usable.
func TestConnFrameOverLimit(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			results := make(chan error, 2)
			s := startTestServer(t, tr, ServerOptions{
				Codec: wire.Codec{MaxFrameSize: 4 << 10},
				Handle: func(_ context.Context, _ string, c Conn) {
					_, err := c.Read() // the small message
					if err == nil {
						_, err = c.Read()
					}
					results <- err
				},
			})
			small := message.Message{Route: message.Route{Operation: message.OpQuery}}
			big := message.Message{Route: message.Route{Operation: message.OpInsert}, Content: make([]byte, 16<<10)}

			c := s.dial(t)
			// The write may fail: the server closes the conn as soon as it
			// sees the frame (on WebSocket, the WS message) is too large.
			_ = c.Write([]message.Message{small, big})
			err := <-results
			if !errors.Is(err, wire.ErrFrameTooLarge) && !errors.Is(err, websocket.ErrReadLimit) {
				t.Errorf("server Read of a 16 KiB frame with a 4 KiB limit: %v, want ErrFrameTooLarge or (WS) ErrReadLimit", err)
			}

			tight, err := s.dialOptions(DialOptions{TLS: s.pki.node, Codec: wire.Codec{MaxFrameSize: 1 << 10}})
			if err != nil {
				t.Fatal(err)
			}
			defer tight.Close("")
			if err := tight.Write([]message.Message{big}); !errors.Is(err, wire.ErrFrameTooLarge) {
				t.Errorf("Write over the client's own limit: %v, want wire.ErrFrameTooLarge", err)
			}
			if err := tight.Write([]message.Message{small, small}); err != nil {
				t.Fatalf("Write after a refused message: %v", err)
			}
			if err := <-results; err != nil {
				t.Errorf("the server did not read the next conn's messages: %v", err)
			}
		})
	}
}

// TestConnBadFrame: bytes that are not a frame fail the server's Read with
// the wire error; the server goes on serving.
func TestConnBadFrame(t *testing.T) {
	garbage := []byte{0, 0, 0, 2, wire.Version, 0} // ends before the timestamp
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			results := make(chan error, 1)
			s := startTestServer(t, tr, ServerOptions{Handle: func(_ context.Context, _ string, c Conn) {
				_, err := c.Read()
				results <- err
			}})
			raw := rawDial(t, s)
			if err := raw.write(garbage); err != nil {
				t.Fatal(err)
			}
			if err := <-results; !errors.Is(err, wire.ErrMalformed) {
				t.Errorf("server Read of a malformed frame: %v, want wire.ErrMalformed", err)
			}
			c := s.dial(t)
			if err := c.Write([]message.Message{{}}); err != nil {
				t.Fatal(err)
			}
			if err := <-results; err != nil {
				t.Errorf("the server did not serve the next conn: %v", err)
			}
		})
	}
}

// TestAdmitRefused: Admit's refusal reaches the dialer as ErrRefused with
// the reason, and ErrUnavailable as such (HTTP 503 on WebSocket).
func TestAdmitRefused(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		unavailable bool
		status      string // on WebSocket
	}{
		{"refused", errors.New("node edge-1 is not allowed here"), false, "403"},
		{"unavailable", fmt.Errorf("node limit 5000 reached: %w", ErrUnavailable), true, "503"},
	}
	for _, tr := range transports {
		for _, tt := range tests {
			t.Run(tr+"/"+tt.name, func(t *testing.T) {
				var handled atomic.Bool
				s := startTestServer(t, tr, ServerOptions{
					Admit:  func(*x509.Certificate) (string, error) { return "", tt.err },
					Handle: func(context.Context, string, Conn) { handled.Store(true) },
				})
				err := firstError(s.dialWith(s.pki.node))
				if !errors.Is(err, ErrRefused) || errors.Is(err, ErrUnavailable) != tt.unavailable {
					t.Fatalf("dial: %v; want ErrRefused, and ErrUnavailable %v", err, tt.unavailable)
				}
				if !strings.Contains(err.Error(), tt.err.Error()) {
					t.Errorf("dial error %q does not carry the reason %q", err, tt.err)
				}
				if tr == TransportWebSocket && !strings.Contains(err.Error(), tt.status) {
					t.Errorf("dial error %q does not say HTTP %s", err, tt.status)
				}
				if handled.Load() {
					t.Error("Handle ran for a refused peer")
				}
			})
		}
	}
}

// firstError returns the dial's error, else that of a first Write and
// Read: where a QUIC refusal surfaces.
func firstError(c Conn, err error) error {
	if err != nil {
		return err
	}
	defer c.Close("")
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	if err := c.Write([]message.Message{{}}); err != nil {
		return err
	}
	_, err = c.Read()
	return err
}

// TestForeignClientCert: a client certificate from another CA fails the
// handshake; Admit never sees it.
func TestForeignClientCert(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			var admitted atomic.Int32
			s := startTestServer(t, tr, ServerOptions{Admit: func(cert *x509.Certificate) (string, error) {
				admitted.Add(1)
				return nodeFromCN(cert)
			}})
			err := firstError(s.dialWith(s.pki.foreign))
			if err == nil || errors.Is(err, ErrRefused) {
				t.Fatalf("dial with a foreign CA's certificate: %v, want a handshake error", err)
			}
			t.Logf("dial with a foreign CA's certificate: %v", err)
			if n := admitted.Load(); n != 0 {
				t.Errorf("Admit ran %d times", n)
			}
		})
	}
}

// TestCloseUnblocksRead: Close unblocks a Read in progress, which then
// says net.ErrClosed; the peer reads a clean close with the reason.
func TestCloseUnblocksRead(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			serverErr := make(chan error, 1)
			s := startTestServer(t, tr, ServerOptions{Handle: func(_ context.Context, _ string, c Conn) {
				_, err := c.Read()
				if err == nil {
					_, err = c.Read()
				}
				serverErr <- err
			}})
			c := s.dial(t)
			if err := c.Write([]message.Message{{}}); err != nil {
				t.Fatal(err)
			}
			readErr := make(chan error, 1)
			go func() {
				_, err := c.Read()
				readErr <- err
			}()
			select {
			case err := <-readErr:
				t.Fatalf("Read returned before Close: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
			if err := c.Close("bye now"); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := c.Close("again"); err != nil {
				t.Errorf("second Close: %v", err)
			}
			select {
			case err := <-readErr:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("Read after Close: %v, want net.ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not unblock Read")
			}
			if err := c.Write([]message.Message{{}}); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Write after Close: %v, want net.ErrClosed", err)
			}
			err := <-serverErr
			if !errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "bye now") {
				t.Errorf("server Read after the client's Close: %v, want io.EOF with the reason", err)
			}
		})
	}
}

// TestReadDeadline: a read deadline fails Read with a timeout, for good.
func TestReadDeadline(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			s := startTestServer(t, tr, ServerOptions{})
			c := s.dial(t)
			const wait = 100 * time.Millisecond
			start := time.Now()
			if err := c.SetReadDeadline(start.Add(wait)); err != nil {
				t.Fatal(err)
			}
			_, err := c.Read()
			var ne net.Error
			if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("Read past the deadline: %v, want a timeout", err)
			}
			if took := time.Since(start); took < wait {
				t.Errorf("Read failed after %v, before the %v deadline", took, wait)
			}
			if _, err2 := c.Read(); err2 != err {
				t.Errorf("second Read: %v, want the same error", err2)
			}
		})
	}
}

// TestWriteDeadline: a write deadline fails a Write that the peer does not
// drain (flow control on QUIC, socket buffers on WebSocket).
func TestWriteDeadline(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			s := startTestServer(t, tr, ServerOptions{Handle: func(ctx context.Context, _ string, c Conn) {
				_, _ = c.Read() // the stream's first message, then nothing
				<-ctx.Done()
			}})
			c := s.dial(t)
			if err := c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			batch := make([]message.Message, 64)
			for i := range batch {
				batch[i].Content = make([]byte, 1<<10)
			}
			var err error
			for written := 0; err == nil && written < 512<<20; written += 64 << 10 {
				err = c.Write(batch)
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("Write to a peer that does not read: %v, want a timeout", err)
			}
		})
	}
}

// TestServerStop: ending the server's ctx ends every Handle's ctx, closes
// every conn (unblocking a Handle that ignores its ctx), tells the peer
// why, and leaves no goroutine behind.
func TestServerStop(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			baseline := runtime.NumGoroutine()
			started := make(chan struct{})
			handled := make(chan error, 1)
			s := startTestServer(t, tr, ServerOptions{Handle: func(ctx context.Context, _ string, c Conn) {
				_, _ = c.Read()
				close(started)
				_, err := c.Read() // ends only when the server closes c
				if ctx.Err() == nil {
					err = fmt.Errorf("Read returned (%v) before the Handle's ctx ended", err)
				} else if err == nil {
					err = errors.New("Read returned a message")
				} else {
					err = nil
				}
				handled <- err
			}})
			c, err := s.dialWith(s.pki.node)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Write([]message.Message{{}}); err != nil {
				t.Fatal(err)
			}
			<-started
			if err := s.stop(); err != nil {
				t.Fatalf("Serve after a stop: %v, want nil", err)
			}
			select {
			case err := <-handled:
				if err != nil {
					t.Error(err)
				}
			default:
				t.Error("Serve returned before Handle did")
			}
			_, err = c.Read()
			if !errors.Is(err, io.EOF) || !strings.Contains(err.Error(), stopReason) {
				t.Errorf("client Read after the server stopped: %v, want io.EOF and %q", err, stopReason)
			}
			_ = c.Close("")
			if tr == TransportWebSocket { // a QUIC dial would wait for its handshake timeout
				if _, err := s.dialWith(s.pki.node); err == nil {
					t.Error("dial after the server stopped succeeded")
				}
			}
			checkGoroutines(t, baseline)
		})
	}
}

func TestServeValidates(t *testing.T) {
	pki := newTestPKI(t)
	noClientAuth := pki.server.Clone()
	noClientAuth.ClientAuth = 0
	good := ServerOptions{TLS: pki.server, Logger: discardLogger(), Admit: nodeFromCN, Handle: func(context.Context, string, Conn) {}}
	for name, change := range map[string]func(*ServerOptions){
		"no TLS":         func(o *ServerOptions) { o.TLS = nil },
		"no client auth": func(o *ServerOptions) { o.TLS = noClientAuth },
		"no Logger":      func(o *ServerOptions) { o.Logger = nil },
		"no Admit":       func(o *ServerOptions) { o.Admit = nil },
		"no Handle":      func(o *ServerOptions) { o.Handle = nil },
	} {
		o := good
		change(&o)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := ServeWebSocket(context.Background(), ln, o); err == nil {
			t.Errorf("%s: ServeWebSocket returned nil", name)
		}
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := ServeQUIC(context.Background(), pc, o); err == nil {
			t.Errorf("%s: ServeQUIC returned nil", name)
		}
	}
	if _, err := DialWebSocket(context.Background(), "127.0.0.1:1", DialOptions{}); err == nil {
		t.Error("DialWebSocket without TLS: nil error")
	}
	if _, err := DialQUIC(context.Background(), "127.0.0.1:1", DialOptions{}); err == nil {
		t.Error("DialQUIC without TLS: nil error")
	}
}
