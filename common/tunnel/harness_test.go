package tunnel

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/quic-go/quic-go"
)

// transports are the transports every transport test runs over.
var transports = []string{TransportWebSocket, TransportQUIC}

// testServer is a ServeWebSocket or ServeQUIC on a loopback port.
type testServer struct {
	transport string
	addr      string
	pki       *testPKI
	cancel    context.CancelFunc
	served    chan error // Serve's result
}

// startTestServer serves opts on a loopback port until the test ends.
// Zero fields of opts get the test PKI's server config, a test logger, an
// Admit that takes the node name from a system:node: CN, and a Handle that
// reads until the conn fails.
func startTestServer(t testing.TB, transport string, opts ServerOptions) *testServer {
	t.Helper()
	s := &testServer{transport: transport, pki: newTestPKI(t), served: make(chan error, 1)}
	if opts.TLS == nil {
		opts.TLS = s.pki.server
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if opts.Admit == nil {
		opts.Admit = nodeFromCN
	}
	if opts.Handle == nil {
		opts.Handle = func(_ context.Context, _ string, c Conn) { drain(c) }
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	switch transport {
	case TransportWebSocket:
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.addr = ln.Addr().String()
		go func() { s.served <- ServeWebSocket(ctx, ln, opts) }()
	case TransportQUIC:
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.addr = pc.LocalAddr().String()
		go func() { s.served <- ServeQUIC(ctx, pc, opts) }()
	default:
		t.Fatalf("unknown transport %q", transport)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("server stop: %v", err)
		}
	})
	return s
}

// stop ends the server and returns Serve's result. It may be called again.
func (s *testServer) stop() error {
	s.cancel()
	select {
	case err := <-s.served:
		s.served <- err
		return err
	case <-time.After(10 * time.Second):
		return errors.New("Serve did not return within 10s of its ctx ending")
	}
}

// dial connects a client with the node's certificate.
func (s *testServer) dial(t testing.TB) Conn {
	t.Helper()
	c, err := s.dialWith(s.pki.node)
	if err != nil {
		t.Fatalf("dial %s: %v", s.transport, err)
	}
	t.Cleanup(func() { _ = c.Close("test over") })
	return c
}

// dialWith connects a client with tlsConf.
func (s *testServer) dialWith(tlsConf *tls.Config) (Conn, error) {
	return s.dialOptions(DialOptions{TLS: tlsConf})
}

func (s *testServer) dialOptions(o DialOptions) (Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.transport == TransportQUIC {
		return DialQUIC(ctx, s.addr, o)
	}
	return DialWebSocket(ctx, s.addr, o)
}

// rawConn is a client connection that writes bytes as they are, to play a
// broken peer.
type rawConn struct {
	write func([]byte) error
}

// rawDial connects to s without a Conn: a plain WebSocket whose write sends
// one binary message, or a QUIC stream.
func rawDial(t testing.TB, s *testServer) rawConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.transport == TransportWebSocket {
		d := websocket.Dialer{TLSClientConfig: s.pki.node}
		ws, _, err := d.DialContext(ctx, "wss://"+s.addr+WebSocketPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ws.Close() })
		return rawConn{write: func(b []byte) error { return ws.WriteMessage(websocket.BinaryMessage, b) }}
	}
	tlsConf := s.pki.node.Clone()
	tlsConf.NextProtos = []string{ALPN}
	qc, err := quic.DialAddr(ctx, s.addr, tlsConf, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = qc.CloseWithError(0, "") })
	st, err := qc.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rawConn{write: func(b []byte) error { _, err := st.Write(b); return err }}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// nodeFromCN admits system:node:<name> certificates as <name>.
func nodeFromCN(cert *x509.Certificate) (string, error) {
	name, ok := strings.CutPrefix(cert.Subject.CommonName, "system:node:")
	if !ok {
		return "", fmt.Errorf("%q is not a node", cert.Subject.CommonName)
	}
	return name, nil
}

// drain reads c until it fails.
func drain(c Conn) {
	for {
		if _, err := c.Read(); err != nil {
			return
		}
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// checkGoroutines fails t unless the goroutine count falls back to
// baseline within 10s, and then prints the goroutines left.
func checkGoroutines(t testing.TB, baseline int) {
	t.Helper()
	if waitFor(10*time.Second, func() bool { return runtime.NumGoroutine() <= baseline }) {
		return
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	t.Errorf("%d goroutines, %d before the test:\n%s", runtime.NumGoroutine(), baseline, buf)
}
