package metamanager

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/common/daemon/metricstest"
	"github.com/tether-edge/tether/common/message"
)

// Each committed transaction is observed once and its writes counted; a
// write that fails is counted as an error, not as written.
func TestStoreMetricsFollowCommits(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := OpenStore(StoreOptions{Path: tempDB(t), Logger: quietLogger(), Metrics: NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	const (
		commits = "tether_metamanager_sqlite_write_duration_seconds"
		writes  = "tether_metamanager_sqlite_writes_total"
		errs    = "tether_metamanager_sqlite_write_errors_total"
	)
	committed := func() uint64 { n, _ := metricstest.Histogram(t, reg, commits); return n }
	if n := committed(); n != 0 {
		t.Fatalf("%v commits observed before any write", n)
	}

	mustApply(t, s, syncMsg(message.OpInsert, res("default", "pod", "web"), "1", podJSON("default", "web", "u1", "1")))
	if c, w := committed(), metricstest.Value(t, reg, writes); c != 1 || w != 1 {
		t.Errorf("after one write: %v commits observed, %v writes counted; want 1 and 1", c, w)
	}

	// A batch of three with a bad write: one transaction commits two.
	bad := podWrite(t, "bad")
	bad.kind = 99
	batch := []*writeOp{podWrite(t, "a"), bad, podWrite(t, "b")}
	s.writer.commit(batch)
	for _, op := range batch {
		<-op.done
	}
	if c, w, e := committed(), metricstest.Value(t, reg, writes), metricstest.Value(t, reg, errs); c != 2 || w != 3 || e != 1 {
		t.Errorf("after a batch with a bad write: %v commits, %v writes, %v errors; want 2, 3 and 1", c, w, e)
	}
}

// The collectors pass Prometheus's lint (help, names, units), and a second
// registration on the same registry is refused.
func TestStoreMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	metricstest.Lint(t, reg)
	defer func() {
		if recover() == nil {
			t.Error("registering the store's metrics twice did not panic")
		}
	}()
	NewMetrics(reg)
}
