package cloudhub

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/common/tunnel"
)

// Reasons a node's connection is refused (the reason label of
// tether_cloudhub_denials_total).
const (
	// DenyCertificate: the client certificate verified but names no node.
	DenyCertificate = "certificate"
	// DenyNotReady: the desired sets are still loading (ErrNotReady).
	DenyNotReady = "not_ready"
	// DenyNodeLimit: NodeLimit nodes are connected (ErrNodeLimit).
	DenyNodeLimit = "node_limit"
)

// Metrics are the hub's Prometheus collectors.
type Metrics struct {
	connected  *prometheus.GaugeVec   // transport
	queueDepth *prometheus.GaugeVec   // node
	messages   *prometheus.CounterVec // direction
	bytes      *prometheus.CounterVec // direction
	ackLatency prometheus.Histogram
	reconnects prometheus.Counter
	denials    *prometheus.CounterVec // reason

	// tunnel counts every session conn's messages and bytes into messages
	// and bytes; the hub's tunnel servers are given it as their Meter.
	tunnel tunnelMeter
}

// tunnelMeter is the tunnel.Meter of the hub's servers: it adds what every
// conn reads and writes (keepalives, acks and manifests included) to
// tether_cloudhub_messages_total and _bytes_total. Its children are
// resolved once, for the per-message path.
type tunnelMeter struct {
	messagesIn, messagesOut, bytesIn, bytesOut prometheus.Counter
}

var _ tunnel.Meter = (*tunnelMeter)(nil)

func (t *tunnelMeter) Read(frameBytes int) {
	t.messagesIn.Inc()
	t.bytesIn.Add(float64(frameBytes))
}

func (t *tunnelMeter) Wrote(msgs, frameBytes int) {
	t.messagesOut.Add(float64(msgs))
	t.bytesOut.Add(float64(frameBytes))
}

// ackLatencyBuckets span a LAN round trip to a slow, busy edge link.
var ackLatencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// NewMetrics creates the hub's collectors and registers them with reg; a
// name registered twice panics (a programmer error at start-up).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tether_cloudhub_connected_nodes",
			Help: "Edge nodes with a live CloudHub session, by the transport of that session.",
		}, []string{"transport"}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tether_cloudhub_queue_depth",
			Help: "Messages waiting to be sent to a connected node: queued responses, requests and one-way messages plus desired-set objects not yet sent (the series ends with the session).",
		}, []string{"node"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_cloudhub_messages_total",
			Help: "Tunnel messages received from (in) and written to (out) edge nodes, keepalives, acks and manifests included.",
		}, []string{"direction"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_cloudhub_bytes_total",
			Help: "Wire-encoded frame bytes of the tunnel messages received from (in) and written to (out) edge nodes.",
		}, []string{"direction"}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tether_cloudhub_ack_latency_seconds",
			Help:    "Time from handing a sequenced (reliable) message to a node's session writer to the node's acknowledgement of it.",
			Buckets: ackLatencyBuckets,
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tether_cloudhub_reconnects_total",
			Help: "Sessions started by a node that already had a session earlier in this cloudcore process (after a drop, or replacing a live one).",
		}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_cloudhub_denials_total",
			Help: "Tunnel connections refused after the TLS handshake, by reason: certificate (names no node), not_ready (desired sets loading), node_limit.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.connected, m.queueDepth, m.messages, m.bytes, m.ackLatency, m.reconnects, m.denials)
	m.tunnel = tunnelMeter{
		messagesIn:  m.messages.WithLabelValues("in"),
		messagesOut: m.messages.WithLabelValues("out"),
		bytesIn:     m.bytes.WithLabelValues("in"),
		bytesOut:    m.bytes.WithLabelValues("out"),
	}
	// The fixed label values start at zero, so rate() sees their first event.
	m.connected.WithLabelValues(tunnel.TransportWebSocket)
	m.connected.WithLabelValues(tunnel.TransportQUIC)
	for _, r := range []string{DenyCertificate, DenyNotReady, DenyNodeLimit} {
		m.denials.WithLabelValues(r)
	}
	return m
}

// deny counts a refused connection.
func (m *Metrics) deny(reason string) { m.denials.WithLabelValues(reason).Inc() }
