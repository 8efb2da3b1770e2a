package cloudstream

import "github.com/prometheus/client_golang/prometheus"

// Reasons a stream request or a stream tunnel is refused (the reason label
// of tether_cloudstream_denials_total).
const (
	// DenyForbidden: the Authorizer (SubjectAccessReview) refused a
	// stream request (403).
	DenyForbidden = "forbidden"
	// DenyCertificate: a stream tunnel's verified client certificate names
	// no node.
	DenyCertificate = "certificate"
	// DenyNotReady: a stream server handshake came before the kubelet
	// client CA was loaded.
	DenyNotReady = "not_ready"
)

// Metrics are CloudStream's Prometheus collectors.
type Metrics struct {
	denials *prometheus.CounterVec // reason
}

// NewMetrics creates CloudStream's collectors and registers them with
// reg; a name registered twice panics (a programmer error at start-up).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_cloudstream_denials_total",
			Help: "Stream requests and stream tunnels CloudStream refused, by reason: forbidden (SubjectAccessReview), certificate (tunnel certificate names no node), not_ready (kubelet client CA not loaded).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.denials)
	for _, r := range []string{DenyForbidden, DenyCertificate, DenyNotReady} {
		m.denials.WithLabelValues(r) // present at zero
	}
	return m
}

func (m *Metrics) deny(reason string) { m.denials.WithLabelValues(reason).Inc() }
