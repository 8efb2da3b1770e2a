package edgehub

import "github.com/prometheus/client_golang/prometheus"

// Metrics are EdgeHub's Prometheus collectors; each has the label
// "transport" (websocket or quic).
type Metrics struct {
	// Connected is 1 while a session with the cloud runs, 0 otherwise.
	Connected *prometheus.GaugeVec
	// Connects counts sessions begun (tunnel dialed, manifest sent);
	// Disconnects those ended; ConnectErrors attempts that failed before
	// a session began.
	Connects      *prometheus.CounterVec
	Disconnects   *prometheus.CounterVec
	ConnectErrors *prometheus.CounterVec
}

// NewMetrics creates EdgeHub's collectors and registers them on reg; a
// collector registered twice panics (a programmer error at start-up).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	transport := []string{"transport"}
	m := &Metrics{
		Connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tether_edgehub_connected",
			Help: "Whether a tunnel session with cloudcore is up: 1 from the manifest sent until the session ends, else 0.",
		}, transport),
		Connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_edgehub_connects_total",
			Help: "Tunnel sessions with cloudcore begun (dialed and the manifest sent).",
		}, transport),
		Disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_edgehub_disconnects_total",
			Help: "Tunnel sessions with cloudcore that ended.",
		}, transport),
		ConnectErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_edgehub_connect_errors_total",
			Help: "Attempts to begin a tunnel session with cloudcore that failed (dial, TLS handshake or sending the manifest).",
		}, transport),
	}
	reg.MustRegister(m.Connected, m.Connects, m.Disconnects, m.ConnectErrors)
	return m
}

// hubMetrics are one hub's series of Metrics, resolved once.
type hubMetrics struct {
	connected                            prometheus.Gauge
	connects, disconnects, connectErrors prometheus.Counter
}

func (m *Metrics) forTransport(transport string) hubMetrics {
	return hubMetrics{
		connected:     m.Connected.WithLabelValues(transport),
		connects:      m.Connects.WithLabelValues(transport),
		disconnects:   m.Disconnects.WithLabelValues(transport),
		connectErrors: m.ConnectErrors.WithLabelValues(transport),
	}
}
