package edgehub

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/common/daemon/metricstest"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
	"github.com/tether-edge/tether/common/tunnel"
)

// sample is the value of family name's one series in reg, which must be
// the hub's: transport=websocket.
func sample(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	byTransport := metricstest.ByLabel(t, reg, name, "transport")
	v, ok := byTransport[tunnel.TransportWebSocket]
	if !ok || len(byTransport) != 1 {
		t.Fatalf("%s by transport %v, want one series, transport=%s", name, byTransport, tunnel.TransportWebSocket)
	}
	return v
}

// pipeConn is a tunnel.Conn whose peer never writes: Read blocks until
// Close. reading is closed at the first Read, once the session runs.
type pipeConn struct {
	reading   chan struct{}
	closed    chan struct{}
	readOnce  sync.Once
	closeOnce sync.Once
}

func newPipeConn() *pipeConn {
	return &pipeConn{reading: make(chan struct{}), closed: make(chan struct{})}
}

func (c *pipeConn) Read() (message.Message, error) {
	c.readOnce.Do(func() { close(c.reading) })
	<-c.closed
	return message.Message{}, io.EOF
}
func (c *pipeConn) Write([]message.Message) error    { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }
func (c *pipeConn) Close(string) error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}
func (c *pipeConn) RemoteAddr() net.Addr { return &net.TCPAddr{} }
func (c *pipeConn) Transport() string    { return tunnel.TransportWebSocket }

// nullStore holds nothing.
type nullStore struct{}

func (nullStore) Manifest(context.Context) ([]objsync.Entry, error) { return nil, nil }
func (nullStore) Apply(context.Context, message.Message) error      { return nil }

// plainCerts has no certificate: a dial fails at the TLS handshake at
// worst.
type plainCerts struct{}

func (plainCerts) Bootstrap(context.Context) error { return nil }
func (plainCerts) ClientTLS(string) *tls.Config    { return &tls.Config{} }
func (plainCerts) Run(ctx context.Context) error   { <-ctx.Done(); return nil }

func metricsHub(t *testing.T, reg *prometheus.Registry, address string) *Hub {
	t.Helper()
	h, err := New(Options{
		Bus: nullBus{}, Store: nullStore{}, Certs: plainCerts{}, Logger: slog.New(slog.DiscardHandler),
		Transport: tunnel.TransportWebSocket, Address: address, ServerName: "cloud",
		KeepalivePeriod: time.Second, ReconnectInitial: time.Millisecond, ReconnectMax: time.Millisecond,
		UpstreamQPS: 10, UpstreamBurst: 10, RequestTimeout: time.Second,
		Metrics: NewMetrics(reg),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// nullBus is a bus nothing arrives on.
type nullBus struct{ Bus }

// A session up sets connected to 1 and counts a connect; its end sets 0
// and counts a disconnect.
func TestMetricsFollowTheSession(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := metricsHub(t, reg, "127.0.0.1:1")
	if v := sample(t, reg, "tether_edgehub_connected"); v != 0 {
		t.Fatalf("connected %v before any session", v)
	}
	c := newPipeConn()
	done := make(chan error, 1)
	go func() {
		_, err := h.session(t.Context(), c, 0)
		done <- err
	}()
	<-c.reading
	if v, n := sample(t, reg, "tether_edgehub_connected"), sample(t, reg, "tether_edgehub_connects_total"); v != 1 || n != 1 {
		t.Errorf("in a session: connected %v, connects %v; want 1 and 1", v, n)
	}
	c.Close("cut")
	if err := <-done; err == nil {
		t.Error("a cut session ended without an error")
	}
	if v, n := sample(t, reg, "tether_edgehub_connected"), sample(t, reg, "tether_edgehub_disconnects_total"); v != 0 || n != 1 {
		t.Errorf("after the session: connected %v, disconnects %v; want 0 and 1", v, n)
	}
}

// A dial that fails is counted, and connected stays 0.
func TestMetricsCountFailedConnects(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	reg := prometheus.NewRegistry()
	h := metricsHub(t, reg, addr)
	for range 2 {
		if _, err := h.runOnce(t.Context()); err == nil || errors.Is(err, context.Canceled) {
			t.Fatalf("runOnce to a closed port: %v", err)
		}
	}
	if n, v := sample(t, reg, "tether_edgehub_connect_errors_total"), sample(t, reg, "tether_edgehub_connected"); n != 2 || v != 0 {
		t.Errorf("connect errors %v, connected %v; want 2 and 0", n, v)
	}
}

// The collectors pass Prometheus's lint.
func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg).forTransport(tunnel.TransportQUIC)
	metricstest.Lint(t, reg)
}
