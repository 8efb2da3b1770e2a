package tunnelbench

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tether-edge/tether/tests/perf/simulator"
)

const (
	// connectTimeout bounds the wait for every simulated node to sync.
	connectTimeout = 5 * time.Minute
	// disconnectTimeout bounds the wait for every session to end after
	// cloudcore stops.
	disconnectTimeout = time.Minute
)

// benchNodesRSS measures cloudcore's RSS with n simulated nodes connected:
// the total (MB, 2^20 bytes) and what each node added (KiB/node).
func benchNodesRSS(b *testing.B, e *processEnv, n int) []metric {
	cc, sim, before := connectFleet(b, e, n)
	after := cc.SettledRSS(b)
	b.Logf("cloudcore RSS %d MiB idle, %d MiB with %d nodes; %v", before>>20, after>>20, n, sim.Stats())
	return []metric{
		{float64(after) / (1 << 20), "MB"},
		{float64(after-before) / 1024 / float64(n), "KiB/node"},
	}
}

// benchReconnect measures the seconds from starting cloudcore again after a
// SIGTERM until each of n simulated nodes has a new session that received
// its OpSynced marker.
func benchReconnect(b *testing.B, e *processEnv, n int) []metric {
	cc, sim, _ := connectFleet(b, e, n)
	stopping := time.Now()
	cc.Stop(b)
	stopped := time.Since(stopping)
	waitFleet(b, sim, disconnectTimeout, 10*time.Millisecond, "every session to end", func(s simulator.Stats) bool {
		return s.Connected == 0
	})
	start := time.Now()
	cc.Start(b)
	ready := time.Since(start)
	var progress []string // when a quarter, half, ... of the nodes had synced
	marks := []int{n / 4, n / 2, n * 3 / 4, n * 9 / 10, n * 99 / 100}
	waitFleet(b, sim, connectTimeout, 5*time.Millisecond, "every node to sync again", func(s simulator.Stats) bool {
		for len(marks) > 0 && s.Synced >= marks[0] {
			progress = append(progress, fmt.Sprintf("%d by %v", marks[0], time.Since(start).Round(10*time.Millisecond)))
			marks = marks[1:]
		}
		return s.Synced == n
	})
	took := time.Since(start)
	b.Logf("cloudcore took %v to stop, was ready %v after the restart; synced %s; all %d after %v; %v",
		stopped.Round(time.Millisecond), ready.Round(time.Millisecond), strings.Join(progress, ", "), n, took.Round(time.Millisecond), sim.Stats())
	return []metric{{took.Seconds(), "s"}}
}

// connectFleet starts cloudcore, notes its settled RSS (returned as
// rssBefore), then connects n simulated nodes and waits until every one has
// synced. Cleanup stops the nodes, then cloudcore.
func connectFleet(b *testing.B, e *processEnv, n int) (cc *cloudcore, sim *simulator.Simulator, rssBefore int64) {
	b.Helper()
	requireFiles(b, n)
	cc = startCloudcore(b, e.cloudcoreBinary(b))
	certs, err := simulator.IssueCerts(cc.CA, "sim", n)
	if err != nil {
		b.Fatal(err)
	}
	rssBefore = cc.SettledRSS(b)
	start := time.Now()
	sim, err = simulator.Start(simulator.Options{Address: cc.WebSocketAddr, Roots: cc.CA.Pool(), Certs: certs})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sim.Stop)
	waitFleet(b, sim, connectTimeout, 10*time.Millisecond, "every node to sync", func(s simulator.Stats) bool {
		return s.Synced == n
	})
	b.Logf("%d nodes connected and synced in %v", n, time.Since(start).Round(time.Millisecond))
	return cc, sim, rssBefore
}

// requireFiles fails early unless this process and cloudcore (both Go,
// which raise their soft RLIMIT_NOFILE to the hard limit) may each hold a
// connection per node, with room to spare.
func requireFiles(b *testing.B, n int) {
	b.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatalf("read RLIMIT_NOFILE: %v", err)
	}
	if want := uint64(n + 1024); lim.Max < want {
		b.Fatalf("the hard limit of open files is %d; %d nodes need %d (ulimit -Hn)", lim.Max, n, want)
	}
}

// waitFleet polls the simulator's counters every `every` until cond holds,
// failing after timeout.
func waitFleet(b *testing.B, sim *simulator.Simulator, timeout, every time.Duration, what string, cond func(simulator.Stats) bool) {
	b.Helper()
	tick := time.NewTicker(every)
	defer tick.Stop()
	deadline := time.Now().Add(timeout)
	for !cond(sim.Stats()) {
		if time.Now().After(deadline) {
			b.Fatalf("waited %v for %s: %v", timeout, what, sim.Stats())
		}
		<-tick.C
	}
}
