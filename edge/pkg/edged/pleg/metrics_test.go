package pleg

import (
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/common/daemon/metricstest"
)

// Each successful relist is observed with how long it took, and the time
// since the previous one started; a failed relist is not.
func TestMetricsObserveRelists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const duration, interval = "tether_edged_pleg_relist_duration_seconds", "tether_edged_pleg_relist_interval_seconds"
		f := unsupported()
		f.set(pod("a", sb{"s1", ready}, ctr{"c1", running}))
		gate := make(chan struct{})
		f.gate = gate
		reg := prometheus.NewRegistry()
		_, stop := start(t, f, Options{Metrics: NewMetrics(reg)})
		defer stop()

		synctest.Wait() // the first List waits for the gate
		time.Sleep(30 * time.Millisecond)
		close(gate)
		synctest.Wait()
		if n, sum := metricstest.Histogram(t, reg, duration); n != 1 || math.Abs(sum-0.030) > 1e-9 {
			t.Errorf("after the first relist: %d relists observed, %vs in all; want 1 taking 0.03s", n, sum)
		}
		if n, _ := metricstest.Histogram(t, reg, interval); n != 0 {
			t.Errorf("%d intervals observed after the first relist, want none", n)
		}

		time.Sleep(time.Second) // the next relist starts a period after the first ended
		synctest.Wait()
		if n, _ := metricstest.Histogram(t, reg, duration); n != 2 {
			t.Errorf("%d relists observed after the second, want 2", n)
		}
		if n, sum := metricstest.Histogram(t, reg, interval); n != 1 || math.Abs(sum-1.030) > 1e-9 {
			t.Errorf("interval: %d observed, %vs; want 1 of 1.03s", n, sum)
		}

		f.mu.Lock()
		f.listErr = errors.New("runtime down")
		f.mu.Unlock()
		time.Sleep(time.Second)
		synctest.Wait()
		if n, _ := metricstest.Histogram(t, reg, duration); n != 2 {
			t.Errorf("%d relists observed after a failed one, want still 2", n)
		}
	})
}

// The collectors pass Prometheus's lint.
func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	metricstest.Lint(t, reg)
}
