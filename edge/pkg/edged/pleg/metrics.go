package pleg

import "github.com/prometheus/client_golang/prometheus"

// Metrics are PLEG's Prometheus collectors.
type Metrics struct {
	// RelistDuration observes each successful relist: list, diff,
	// inspect, cache update and delivery.
	RelistDuration prometheus.Histogram
	// RelistInterval observes the time between the starts of two
	// successive successful relists.
	RelistInterval prometheus.Histogram
}

// NewMetrics creates PLEG's collectors and registers them on reg; a
// collector registered twice panics (a programmer error at start-up).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	relist := make([]float64, len(RelistBuckets))
	for i, b := range RelistBuckets {
		relist[i] = b.Seconds()
	}
	m := &Metrics{
		RelistDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tether_edged_pleg_relist_duration_seconds",
			Help:    "Time one successful PLEG relist took: listing the runtime, inspecting the pods that changed and delivering their events.",
			Buckets: relist, // 1 ms to 2.5 s
		}),
		RelistInterval: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tether_edged_pleg_relist_interval_seconds",
			Help: "Time between the starts of two successive successful PLEG relists (about 1 s relisting, up to 30 s evented).",
			// The relist period (1 s) and the evented safety net (30 s),
			// and what a slow or failing runtime stretches them to.
			Buckets: []float64{.05, .1, .25, .5, 1, 1.5, 2.5, 5, 10, 30, 45, 60, 180},
		}),
	}
	reg.MustRegister(m.RelistDuration, m.RelistInterval)
	return m
}
