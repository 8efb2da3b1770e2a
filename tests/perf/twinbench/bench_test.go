package twinbench

import (
	"flag"
	"testing"
	"time"
)

// benchLoad is the measured traffic (see doc.go for why these settings);
// the flags change it for one run, e.g.
// go test -run '^$' -bench Twin -benchtime 1x ./tests/perf/twinbench -args -twin.window 32
var benchLoad = load{devices: 100, clients: 4, window: 32, updates: 20000}

func init() {
	flag.IntVar(&benchLoad.devices, "twin.devices", benchLoad.devices, "devices on the node")
	flag.IntVar(&benchLoad.clients, "twin.clients", benchLoad.clients, "MQTT clients publishing (divides twin.devices)")
	flag.IntVar(&benchLoad.window, "twin.window", benchLoad.window, "updates in flight per client")
	flag.IntVar(&benchLoad.updates, "twin.updates", benchLoad.updates, "updates per iteration")
}

const (
	// setupTimeout bounds starting the edge and giving it its devices.
	setupTimeout = time.Minute
	// loadTimeout bounds one round of updates, and each MQTT token.
	loadTimeout = 2 * time.Minute
)

// BenchmarkTwin is every twin figure; see the package doc.
//
//	make bench BENCH=twin
//	go test -run '^$' -bench Twin -benchtime 1x ./tests/perf/twinbench
func BenchmarkTwin(b *testing.B) {
	var last *measurement // the latest run of updates, for its latencies
	b.Run("updates", func(b *testing.B) {
		m := measure(b, benchLoad)
		last = &m
		b.ReportMetric(m.rate(), "updates/s")
	})
	b.Run("updates_p99_ms", func(b *testing.B) {
		if last == nil { // run alone
			m := measure(b, benchLoad)
			last = &m
		}
		b.ReportMetric(ms(percentile(last.latencies, 99)), "ms")
	})
}

// measurement is what b.N rounds of updates measured.
type measurement struct {
	updates   int
	elapsed   time.Duration // summed over the rounds
	latencies []time.Duration
}

func (m measurement) rate() float64 { return float64(m.updates) / m.elapsed.Seconds() }

// measure starts an edge with l's devices, runs one untimed round giving
// every device one update, then b.N rounds of l.updates, and checks that
// the store holds the last value of a few devices.
func measure(b *testing.B, l load) measurement {
	e := startEdge(b, l.devices)
	d := newDriver(b, e, l)
	if r := d.run(e, l.devices); r.err != nil {
		b.Fatalf("warm-up: %v", r.err)
	}
	var m measurement
	var r *round
	b.ResetTimer()
	for range b.N {
		r = d.run(e, l.updates)
		if r.err != nil {
			b.Fatal(r.err)
		}
		m.updates += l.updates
		m.elapsed += r.elapsed()
		m.latencies = append(m.latencies, r.latencies...)
	}
	b.StopTimer()
	checkStored(b, e, d.lastValues(r), 0, l.devices/2, l.devices-1)
	return m
}

// checkStored fails tb unless the store holds, for the devices numbered
// which, the temperature want gives them.
func checkStored(tb testing.TB, e *edge, want map[string]string, which ...int) {
	tb.Helper()
	var names []string
	for _, i := range which {
		names = append(names, deviceName(i))
	}
	got := e.lastTemperature(tb, names)
	for _, n := range names {
		if got[n] != want[n] {
			tb.Errorf("store: %s has temperature %q, want %q (its last update)", n, got[n], want[n])
		}
	}
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
