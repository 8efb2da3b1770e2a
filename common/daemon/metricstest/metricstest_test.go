package metricstest_test

import (
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tether-edge/tether/common/daemon/metricstest"
)

// recorder is a testing.TB that records failures; Fatalf and FailNow end
// the goroutine, as the real ones do.
type recorder struct {
	testing.TB
	failed bool
	msgs   []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }
func (r *recorder) FailNow()                          { r.failed = true; runtime.Goexit() }

// run calls f with a recorder on a goroutine of its own, so a Fatalf ends
// only that goroutine, and returns the recorder once f is done.
func run(f func(t testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// registry has one family of each kind the package reads.
func registry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	denials := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "denials_total", Help: "h"}, []string{"reason"})
	denials.WithLabelValues("expired").Add(2)
	denials.WithLabelValues("invalid").Add(3)
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bytes_total", Help: "h"}, []string{"direction", "transport"})
	bytes.WithLabelValues("in", "quic").Add(10)
	bytes.WithLabelValues("out", "quic").Add(20)
	connected := prometheus.NewGauge(prometheus.GaugeOpts{Name: "connected", Help: "h"})
	connected.Set(1)
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "latency_seconds", Help: "h"})
	latency.Observe(0.5)
	latency.Observe(1.5)
	reg.MustRegister(denials, bytes, connected, latency,
		prometheus.NewUntypedFunc(prometheus.UntypedOpts{Name: "read_at_scrape", Help: "h"}, func() float64 { return 7 }))
	return reg
}

func TestValue(t *testing.T) {
	reg := registry(t)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
		fail   string // a part of the failure message; "" for none
	}{
		{"denials_total", []string{"reason", "invalid"}, 3, ""},
		{"bytes_total", []string{"direction", "out"}, 20, ""},
		{"bytes_total", []string{"transport", "quic", "direction", "in"}, 10, ""},
		{"connected", nil, 1, ""},
		{"read_at_scrape", nil, 7, ""},
		{"bytes_total", []string{"transport", "quic"}, 0, `bytes_total{transport="quic"}: 2 series match; the family has bytes_total{direction="in",transport="quic"}, bytes_total{direction="out",transport="quic"}`},
		{"denials_total", []string{"reason", "unknown"}, 0, "0 series match"},
		{"denials_total", []string{"reason"}, 0, "not name, value pairs"},
		{"missing_total", nil, 0, "missing_total: no such family"},
		{"latency_seconds", nil, 0, "latency_seconds is a HISTOGRAM, not a counter, gauge or untyped"},
	} {
		var got float64
		r := run(func(t testing.TB) { got = metricstest.Value(t, reg, c.name, c.labels...) })
		checkRun(t, fmt.Sprintf("Value %s%q", c.name, c.labels), r, c.fail)
		if c.fail == "" && got != c.want {
			t.Errorf("Value %s%q = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestHistogram(t *testing.T) {
	reg := registry(t)
	var n uint64
	var sum float64
	r := run(func(t testing.TB) { n, sum = metricstest.Histogram(t, reg, "latency_seconds") })
	checkRun(t, "Histogram", r, "")
	if n != 2 || sum != 2 {
		t.Errorf("Histogram = %d, %v; want 2 observations of 2s in all", n, sum)
	}
	r = run(func(t testing.TB) { metricstest.Histogram(t, reg, "connected") })
	checkRun(t, "Histogram of a gauge", r, "connected is a GAUGE, not a histogram")
}

func TestHas(t *testing.T) {
	reg := registry(t)
	for _, c := range []struct {
		name   string
		labels []string
		want   bool
	}{
		{"denials_total", []string{"reason", "expired"}, true},
		{"denials_total", nil, true},
		{"denials_total", []string{"reason", "gone"}, false},
		{"bytes_total", []string{"direction", "in", "transport", "websocket"}, false},
		{"missing_total", nil, false},
	} {
		var got bool
		r := run(func(t testing.TB) { got = metricstest.Has(t, reg, c.name, c.labels...) })
		checkRun(t, "Has", r, "")
		if got != c.want {
			t.Errorf("Has %s%q = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestByLabel(t *testing.T) {
	reg := registry(t)
	var got map[string]float64
	r := run(func(t testing.TB) { got = metricstest.ByLabel(t, reg, "denials_total", "reason") })
	checkRun(t, "ByLabel", r, "")
	if want := map[string]float64{"expired": 2, "invalid": 3}; !maps.Equal(got, want) {
		t.Errorf("ByLabel = %v, want %v", got, want)
	}
	r = run(func(t testing.TB) { metricstest.ByLabel(t, reg, "bytes_total", "direction") })
	checkRun(t, "ByLabel of a family with two labels", r, `series bytes_total{direction="in",transport="quic"} is not labelled by direction alone`)
	r = run(func(t testing.TB) { metricstest.ByLabel(t, reg, "denials_total", "node") })
	checkRun(t, "ByLabel by another label", r, "not labelled by node alone")
	r = run(func(t testing.TB) { metricstest.ByLabel(t, reg, "missing_total", "reason") })
	checkRun(t, "ByLabel of no family", r, "no such family")
}

func TestLint(t *testing.T) {
	reg := registry(t)
	var mfs []*dto.MetricFamily
	r := run(func(t testing.TB) { mfs = metricstest.Lint(t, reg) })
	checkRun(t, "Lint", r, "")
	if len(mfs) != 5 {
		t.Errorf("Lint returned %d families, want 5", len(mfs))
	}

	bad := prometheus.NewRegistry()
	bad.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "requests", Help: "h"}))
	r = run(func(t testing.TB) { metricstest.Lint(t, bad) })
	checkRun(t, "Lint of a counter without _total", r, "lint: requests: counter metrics should have \"_total\" suffix")
}

// A Gather that fails fails the test.
func TestGatherError(t *testing.T) {
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return nil, errors.New("collector broke") })
	r := run(func(t testing.TB) { metricstest.Has(t, g, "connected") })
	checkRun(t, "Has with a failing Gather", r, "gather: collector broke")
}

// checkRun fails t unless r failed with a message containing fail, or did
// not fail when fail is "".
func checkRun(t *testing.T, what string, r *recorder, fail string) {
	t.Helper()
	msgs := strings.Join(r.msgs, "\n")
	switch {
	case fail == "" && r.failed:
		t.Errorf("%s failed: %s", what, msgs)
	case fail != "" && !r.failed:
		t.Errorf("%s passed; want a failure with %q", what, fail)
	case fail != "" && !strings.Contains(msgs, fail):
		t.Errorf("%s failed with %q; want %q in it", what, msgs, fail)
	}
}
