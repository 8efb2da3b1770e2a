package pki

import "github.com/prometheus/client_golang/prometheus"

// Reasons a join token is refused (the reason label of
// tether_join_token_denials_total).
const (
	// DenyTokenInvalid: a malformed credential, an unknown id or a wrong
	// secret (ErrTokenInvalid).
	DenyTokenInvalid = "invalid"
	// DenyTokenExpired: the right secret of an expired token
	// (ErrTokenExpired).
	DenyTokenExpired = "expired"
)

// Metrics are the token store's Prometheus collectors.
type Metrics struct {
	denials *prometheus.CounterVec // reason
}

// NewMetrics creates the collectors and registers them with reg; a name
// registered twice panics (a programmer error at start-up).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_join_token_denials_total",
			Help: "Join tokens refused when a node asked for its certificate, by reason: invalid (malformed, unknown id or wrong secret), expired.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.denials)
	m.denials.WithLabelValues(DenyTokenInvalid) // present at zero
	m.denials.WithLabelValues(DenyTokenExpired)
	return m
}
