package metamanager

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/tether-edge/tether/common/message"
)

// sample is the value of family name in reg, summed over its series: a
// counter's or gauge's value, a histogram's count of observations.
func sample(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var v float64
		for _, m := range mf.GetMetric() {
			v += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
		return v
	}
	t.Fatalf("%s not registered", name)
	return 0
}

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
	if n := sample(t, reg, commits); n != 0 {
		t.Fatalf("%v commits observed before any write", n)
	}

	mustApply(t, s, syncMsg(message.OpInsert, res("default", "pod", "web"), "1", podJSON("default", "web", "u1", "1")))
	if c, w := sample(t, reg, commits), sample(t, reg, writes); c != 1 || w != 1 {
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
	if c, w, e := sample(t, reg, commits), sample(t, reg, writes), sample(t, reg, errs); c != 2 || w != 3 || e != 1 {
		t.Errorf("after a batch with a bad write: %v commits, %v writes, %v errors; want 2, 3 and 1", c, w, e)
	}
}

// The collectors pass Prometheus's lint (help, names, units), and a second
// registration on the same registry is refused.
func TestStoreMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := promlint.NewWithMetricFamilies(mfs).Lint(); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering the store's metrics twice did not panic")
		}
	}()
	NewMetrics(reg)
}
