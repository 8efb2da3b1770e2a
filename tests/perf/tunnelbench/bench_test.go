package tunnelbench

import (
	"testing"
	"time"

	"github.com/tether-edge/tether/common/tunnel"
)

// BenchmarkTunnel is every tunnel figure; see the package doc.
//
//	make bench BENCH=tunnel
//	go test -run '^$' -bench 'Tunnel/ws_objects' ./tests/perf/tunnelbench
func BenchmarkTunnel(b *testing.B) {
	// The parent runs once per process, and so does what it holds.
	env := &processEnv{dir: b.TempDir(), measured: make(map[string][]metric)}

	b.Run("ws_objects", func(b *testing.B) { benchObjects(b, tunnel.TransportWebSocket, 0) })
	b.Run("quic_objects", func(b *testing.B) { benchObjects(b, tunnel.TransportQUIC, 0) })
	b.Run("rtt50ms_objects", func(b *testing.B) { benchObjects(b, tunnel.TransportWebSocket, 25*time.Millisecond) })
	b.Run("nodes_1000_rss_mb", func(b *testing.B) {
		env.once(b, func() []metric { return benchNodesRSS(b, env, 1000) })
	})
	b.Run("nodes_5000_rss_mb", func(b *testing.B) {
		env.once(b, func() []metric { return benchNodesRSS(b, env, 5000) })
	})
	b.Run("reconnect_5000_s", func(b *testing.B) {
		env.once(b, func() []metric { return benchReconnect(b, env, 5000) })
	})
}

// metric is one value a benchmark reports.
type metric struct {
	value float64
	unit  string
}

// processEnv is what BenchmarkTunnel's figures share within one process.
type processEnv struct {
	// dir lives as long as the parent benchmark.
	dir string
	// cloudcoreBin is the built cloudcore, once built.
	cloudcoreBin string
	// measured holds each one-shot figure by benchmark name.
	measured map[string][]metric
}

// once reports the figure measured for b's name, measuring it the first
// time. Sub-benchmarks run one at a time, so no lock is needed.
func (e *processEnv) once(b *testing.B, measure func() []metric) {
	ms, done := e.measured[b.Name()]
	if !done {
		ms = measure()
		e.measured[b.Name()] = ms
	}
	for _, m := range ms {
		b.ReportMetric(m.value, m.unit)
	}
}
