package metamanager

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the store's Prometheus collectors.
type Metrics struct {
	// WriteDuration observes each committed transaction, BEGIN to COMMIT:
	// one group commit of up to MaxBatch writes.
	WriteDuration prometheus.Histogram
	// Writes counts writes committed; WriteErrors writes answered with an
	// error (their statement or their transaction failed).
	Writes      prometheus.Counter
	WriteErrors prometheus.Counter
}

// NewMetrics creates the store's collectors and registers them on reg; a
// collector registered twice panics (a programmer error at start-up).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		WriteDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tether_metamanager_sqlite_write_duration_seconds",
			Help: "Time to commit one SQLite transaction of the local store, BEGIN to COMMIT, each holding a group of writes.",
			// 100 µs to 1 s.
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		Writes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tether_metamanager_sqlite_writes_total",
			Help: "Writes (objects, statuses, device changes) committed to the local SQLite store.",
		}),
		WriteErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tether_metamanager_sqlite_write_errors_total",
			Help: "Writes to the local SQLite store that failed and were answered with an error.",
		}),
	}
	reg.MustRegister(m.WriteDuration, m.Writes, m.WriteErrors)
	return m
}
