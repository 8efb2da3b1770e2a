package edgedbench

import (
	"testing"
	"time"
)

// The workloads the figures measure; change them here.
const (
	// seqPods pods are started one after another for pod_start_*; then
	// they are the running pods delete30_s deletes.
	seqPods = 30
	// batchPods are handed over at once for batch30_s.
	batchPods = 30
	// exitSamples pods each exit once for exit_to_status_*.
	exitSamples = 10
	// exitAfter is how long an exit sample's container runs: long enough
	// for its running status to be reported first.
	exitAfter = "1"
	// relistSandboxes × relistContainers containers for relist_100_ms;
	// relistRounds relists are timed, after one untimed.
	relistSandboxes  = 10
	relistContainers = 10
	relistRounds     = 10
	// rssPods static pods for rss_30pods_mb.
	rssPods = 30
	// waitTimeout bounds every wait for Edged or the runtime.
	waitTimeout = 2 * time.Minute
)

// BenchmarkEdged is every edged figure; see the package doc.
//
//	make bench BENCH=edged
//	go test -run '^$' -bench Edged -v ./tests/perf/edgedbench
func BenchmarkEdged(b *testing.B) {
	var (
		pods   scenario[podFigures]
		relist scenario[float64]
		exit16 scenario[float64]
		rss    scenario[rssFigures]
		floor  scenario[runtimeFigures]
	)
	b.Run("pod_start_p50_ms", func(b *testing.B) {
		report(b, &pods, measurePods, func(m podFigures) (float64, string) { return ms(percentile(m.starts, 50)), "ms" })
	})
	b.Run("pod_start_p99_ms", func(b *testing.B) {
		report(b, &pods, measurePods, func(m podFigures) (float64, string) { return ms(percentile(m.starts, 99)), "ms" })
	})
	b.Run("batch30_s", func(b *testing.B) {
		report(b, &pods, measurePods, func(m podFigures) (float64, string) { return m.batch.Seconds(), "s" })
	})
	b.Run("delete30_s", func(b *testing.B) {
		report(b, &pods, measurePods, func(m podFigures) (float64, string) { return m.delete.Seconds(), "s" })
	})
	b.Run("exit_to_status_relist_ms", func(b *testing.B) {
		report(b, &exit16, measureExitRelist, func(v float64) (float64, string) { return v, "ms" })
	})
	b.Run("exit_to_status_events_ms", func(b *testing.B) {
		report(b, &pods, measurePods, func(m podFigures) (float64, string) { return ms(percentile(m.exits, 50)), "ms" })
	})
	b.Run("relist_100_ms", func(b *testing.B) {
		report(b, &relist, measureRelist, func(v float64) (float64, string) { return v, "ms" })
	})
	// The runtime alone, with no Edged: the floor under the figures above.
	b.Run("runtime_pod_start_p50_ms", func(b *testing.B) {
		report(b, &floor, measureRuntime, func(m runtimeFigures) (float64, string) { return ms(percentile(m.starts, 50)), "ms" })
	})
	b.Run("runtime_batch30_s", func(b *testing.B) {
		report(b, &floor, measureRuntime, func(m runtimeFigures) (float64, string) { return m.batch.Seconds(), "s" })
	})
	b.Run("runtime_delete30_s", func(b *testing.B) {
		report(b, &floor, measureRuntime, func(m runtimeFigures) (float64, string) { return m.delete.Seconds(), "s" })
	})
	b.Run("runtime_exit_event_ms", func(b *testing.B) {
		report(b, &floor, measureRuntime, func(m runtimeFigures) (float64, string) { return ms(percentile(m.exits, 50)), "ms" })
	})
	b.Run("rss_idle_mb", func(b *testing.B) {
		report(b, &rss, measureRSS, func(m rssFigures) (float64, string) { return mb(m.idle), "MB" })
	})
	b.Run("rss_30pods_mb", func(b *testing.B) {
		report(b, &rss, measureRSS, func(m rssFigures) (float64, string) { return mb(m.pods), "MB" })
	})
}

// scenario is a measurement shared by several figures: it runs once, for
// the first figure that needs it, and later figures report what it
// measured. Sub-benchmarks run one at a time, so no lock is needed.
type scenario[M any] struct {
	started bool
	result  *M // nil until measured, or when measuring failed
}

// report reports figure of what s measured, measuring it first if no
// figure has.
func report[M any](b *testing.B, s *scenario[M], measure func(*testing.B) M, figure func(M) (float64, string)) {
	if !s.started {
		s.started = true // a failure below is not retried by the next figure
		m := measure(b)
		s.result = &m
	}
	if s.result == nil {
		b.Fatal("the measurement failed in an earlier figure")
	}
	v, unit := figure(*s.result)
	b.ReportMetric(v, unit)
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// mb is bytes in MiB, the figures' MB.
func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }
