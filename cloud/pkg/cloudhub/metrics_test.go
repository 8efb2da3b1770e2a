package cloudhub_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/cloud/pkg/cloudhub"
	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/certs/certstest"
	"github.com/tether-edge/tether/common/daemon/metricstest"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
	"github.com/tether-edge/tether/common/tunnel"
	"github.com/tether-edge/tether/common/wire"
)

// chanBus is a Bus on which the test sends to the hub through in.
type chanBus struct {
	idleBus
	in chan message.Message
}

func (b chanBus) Receive(ctx context.Context, _ string) (message.Message, error) {
	select {
	case m := <-b.in:
		return m, nil
	case <-ctx.Done():
		return message.Message{}, ctx.Err()
	}
}

// metricsHub is a running hub whose metrics go to reg.
type metricsHub struct {
	hub  *cloudhub.Hub
	reg  *prometheus.Registry
	bus  chanBus
	ca   *certs.CA
	addr string
	ctx  context.Context
}

func startMetricsHub(t *testing.T, nodeLimit int, ready <-chan struct{}) *metricsHub {
	t.Helper()
	ca, err := certs.NewCA("test-ca", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	bus := chanBus{in: make(chan message.Message, 16)}
	hub, err := cloudhub.New(cloudhub.Options{
		Bus: bus, ServerCert: serving, ClientCAs: ca.Pool(),
		// A long keepalive: no keepalive is written during a test, so
		// the byte counts are exactly what the test exchanges.
		WebSocketAddress: "127.0.0.1:0", NodeLimit: nodeLimit, KeepalivePeriod: time.Minute, RequestTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: ready,
		Metrics: cloudhub.NewMetrics(reg),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	return &metricsHub{hub: hub, reg: reg, bus: bus, ca: ca, addr: hub.WebSocketAddr().String(), ctx: ctx}
}

func (h *metricsHub) dial(t *testing.T, conf *tls.Config) (tunnel.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	return tunnel.DialWebSocket(ctx, h.addr, tunnel.DialOptions{TLS: conf})
}

// join dials as conf's node and starts a session the way EdgeHub does,
// with a manifest of nothing; it returns the connection, closed at the
// end of the test, and the manifest it wrote.
func (h *metricsHub) join(t *testing.T, conf *tls.Config) (tunnel.Conn, message.Message) {
	t.Helper()
	c, err := h.dial(t, conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close("test done") })
	manifest, err := tunnel.Manifest("edgehub", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write([]message.Message{manifest}); err != nil {
		t.Fatal(err)
	}
	return c, manifest
}

// waitValue waits until the one series of name with the label pairs
// labels has value want.
func (h *metricsHub) waitValue(t *testing.T, want float64, name string, labels ...string) {
	t.Helper()
	if !waitFor(func() bool {
		return metricstest.Has(t, h.reg, name, labels...) && metricstest.Value(t, h.reg, name, labels...) == want
	}) {
		t.Fatalf("%s%v = %v; want %v", name, labels, metricstest.Value(t, h.reg, name, labels...), want)
	}
}

// waitCount waits until the histogram name has count observations.
func (h *metricsHub) waitCount(t *testing.T, count uint64, name string) {
	t.Helper()
	observed := func() uint64 { n, _ := metricstest.Histogram(t, h.reg, name); return n }
	if !waitFor(func() bool { return observed() == count }) {
		t.Fatalf("%s observed %d times; want %d", name, observed(), count)
	}
}

// waitGone waits until no series of name has the label pairs labels.
func (h *metricsHub) waitGone(t *testing.T, name string, labels ...string) {
	t.Helper()
	if !waitFor(func() bool { return !metricstest.Has(t, h.reg, name, labels...) }) {
		t.Fatalf("series %s%v still exists", name, labels)
	}
}

// waitFor reports whether cond held within 10s.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func frameBytes(t *testing.T, m message.Message) float64 {
	t.Helper()
	b, err := wire.Codec{}.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return float64(len(b))
}

// object is an insert of a ConfigMap for node, as EdgeController sends it.
func object(node, name string) message.Message {
	content := fmt.Sprintf(`{"metadata":{"uid":"uid-%s","name":%q,"namespace":"default"},"data":{"k":"v"}}`, name, name)
	m := message.New("edgecontroller", cloudhub.Name, message.OpInsert,
		message.Resource{Node: node, Namespace: "default", Type: "configmap", Name: name}, []byte(content))
	m.Header.ResourceVersion = "1"
	return m
}

// TestMetricsFollowASession: a session moves connected and creates the
// node's queue depth series; the messages and wire bytes both ways are
// counted exactly; each acked sync message observes its latency; the end
// of the session removes the series; a second session is a reconnect.
func TestMetricsFollowASession(t *testing.T) {
	h := startMetricsHub(t, 10, nil)
	conf := nodeTLS(t, h.ca, "edge-1")
	h.waitValue(t, 0, "tether_cloudhub_connected_nodes", "transport", "websocket")
	if metricstest.Has(t, h.reg, "tether_cloudhub_queue_depth", "node", "edge-1") {
		t.Fatal("queue depth series before any session")
	}

	c, manifest := h.join(t, conf)
	h.waitValue(t, 1, "tether_cloudhub_connected_nodes", "transport", "websocket")
	h.waitValue(t, 0, "tether_cloudhub_connected_nodes", "transport", "quic")
	if !metricstest.Has(t, h.reg, "tether_cloudhub_queue_depth", "node", "edge-1") {
		t.Fatal("no queue depth series for a connected node")
	}

	// The hub sends the synced marker, then the object; the edge acks both.
	h.bus.in <- object("edge-1", "cm-1")
	var inBytes, outBytes float64 = frameBytes(t, manifest), 0
	var last uint64
	for got := 0; got < 2; got++ {
		if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		m, err := c.Read()
		if err != nil {
			t.Fatalf("read message %d: %v", got+1, err)
		}
		outBytes += frameBytes(t, m)
		last = max(last, m.Header.Seq)
	}
	if last != 2 {
		t.Fatalf("highest sequence %d; want 2", last)
	}
	h.waitValue(t, 2, "tether_cloudhub_messages_total", "direction", "out")
	h.waitValue(t, outBytes, "tether_cloudhub_bytes_total", "direction", "out")
	if n, _ := metricstest.Histogram(t, h.reg, "tether_cloudhub_ack_latency_seconds"); n != 0 {
		t.Fatalf("ack latency observed %v times before any ack", n)
	}
	ack := tunnel.Ack("edgehub", last)
	if err := c.Write([]message.Message{ack}); err != nil {
		t.Fatal(err)
	}
	inBytes += frameBytes(t, ack)
	h.waitCount(t, 2, "tether_cloudhub_ack_latency_seconds")
	h.waitValue(t, 2, "tether_cloudhub_messages_total", "direction", "in")
	h.waitValue(t, inBytes, "tether_cloudhub_bytes_total", "direction", "in")
	h.waitValue(t, 0, "tether_cloudhub_queue_depth", "node", "edge-1")
	h.waitValue(t, 0, "tether_cloudhub_reconnects_total")

	c.Close("edge going away")
	h.waitValue(t, 0, "tether_cloudhub_connected_nodes", "transport", "websocket")
	h.waitGone(t, "tether_cloudhub_queue_depth", "node", "edge-1")

	h.join(t, conf)
	h.waitValue(t, 1, "tether_cloudhub_reconnects_total")
	h.waitValue(t, 1, "tether_cloudhub_connected_nodes", "transport", "websocket")
	if !metricstest.Has(t, h.reg, "tether_cloudhub_queue_depth", "node", "edge-1") {
		t.Fatal("no queue depth series for the reconnected node")
	}
}

// TestMetricsQueueDepth: objects set while the window is full wait, and
// the node's depth counts them until the edge acks.
func TestMetricsQueueDepth(t *testing.T) {
	h := startMetricsHub(t, 10, nil)
	c, _ := h.join(t, nodeTLS(t, h.ca, "edge-1"))
	// The synced marker takes the first slot of the window; once it is
	// out, the objects fill the rest and three wait.
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if m, err := c.Read(); err != nil || m.Route.Operation != objsync.OpSynced {
		t.Fatalf("first message %v, %v; want the synced marker", m.Route.Operation, err)
	}
	for i := range objsync.DefaultWindow + 2 {
		h.bus.in <- object("edge-1", fmt.Sprintf("cm-%d", i))
	}
	h.waitValue(t, 3, "tether_cloudhub_queue_depth", "node", "edge-1")
	if err := c.Write([]message.Message{tunnel.Ack("edgehub", objsync.DefaultWindow)}); err != nil {
		t.Fatal(err)
	}
	h.waitValue(t, 0, "tether_cloudhub_queue_depth", "node", "edge-1")
}

// TestMetricsCountDenials: each refusal after the TLS handshake is counted
// with its reason.
func TestMetricsCountDenials(t *testing.T) {
	ready := make(chan struct{})
	h := startMetricsHub(t, 1, ready)
	if _, err := h.dial(t, nodeTLS(t, h.ca, "edge-1")); !errors.Is(err, tunnel.ErrUnavailable) {
		t.Fatalf("dial before ready: %v; want ErrUnavailable", err)
	}
	h.waitValue(t, 1, "tether_cloudhub_denials_total", "reason", "not_ready")
	close(ready)

	if _, err := h.dial(t, userTLS(t, h.ca, "alice")); !errors.Is(err, tunnel.ErrRefused) {
		t.Fatalf("dial with a user's certificate: %v; want ErrRefused", err)
	}
	h.waitValue(t, 1, "tether_cloudhub_denials_total", "reason", "certificate")

	c, err := h.dial(t, nodeTLS(t, h.ca, "edge-1"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close("test done")
	h.waitValue(t, 1, "tether_cloudhub_connected_nodes", "transport", "websocket")
	if _, err := h.dial(t, nodeTLS(t, h.ca, "edge-2")); !errors.Is(err, tunnel.ErrUnavailable) {
		t.Fatalf("dial over the node limit: %v; want ErrUnavailable", err)
	}
	h.waitValue(t, 1, "tether_cloudhub_denials_total", "reason", "node_limit")
	h.waitValue(t, 1, "tether_cloudhub_denials_total", "reason", "not_ready")
	h.waitValue(t, 1, "tether_cloudhub_denials_total", "reason", "certificate")
}

// userTLS is a client certificate from ca that names a user, not a node.
func userTLS(t *testing.T, ca *certs.CA, user string) *tls.Config {
	t.Helper()
	cert := certstest.Issue(t, ca, pkix.Name{CommonName: user}, x509.ExtKeyUsageClientAuth)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}
}
