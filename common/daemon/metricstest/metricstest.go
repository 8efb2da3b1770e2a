package metricstest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
)

// Value is the value of the one series of the counter, gauge or untyped
// family name whose labels include the pairs labels (name, value, ...).
func Value(t testing.TB, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	f, m := one(t, g, name, labels)
	return value(t, f, m)
}

// Histogram is the count and sum of the observations of the one series of
// the histogram family name whose labels include the pairs labels.
func Histogram(t testing.TB, g prometheus.Gatherer, name string, labels ...string) (count uint64, sum float64) {
	t.Helper()
	f, m := one(t, g, name, labels)
	if f.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("%s is a %s, not a histogram", name, f.GetType())
	}
	h := m.GetHistogram()
	return h.GetSampleCount(), h.GetSampleSum()
}

// Has reports whether family name has a series whose labels include the
// pairs labels: for series that come and go, such as one per connected
// node.
func Has(t testing.TB, g prometheus.Gatherer, name string, labels ...string) bool {
	t.Helper()
	f := family(t, g, name)
	return f != nil && slices.ContainsFunc(f.GetMetric(), func(m *dto.Metric) bool { return matches(m, labels) })
}

// ByLabel is the value of each series of the counter, gauge or untyped
// family name by its value of label, which must be the family's only
// label: the whole family, so a test can check that no other series is
// there.
func ByLabel(t testing.TB, g prometheus.Gatherer, name, label string) map[string]float64 {
	t.Helper()
	f := family(t, g, name)
	if f == nil {
		t.Fatalf("%s: no such family", name)
	}
	out := make(map[string]float64, len(f.GetMetric()))
	for _, m := range f.GetMetric() {
		ls := m.GetLabel()
		if len(ls) != 1 || ls[0].GetName() != label {
			t.Fatalf("%s: series %s is not labelled by %s alone", name, series(name, m), label)
		}
		out[ls[0].GetValue()] = value(t, f, m)
	}
	return out
}

// Lint runs promlint on what g gathers and fails the test with each
// problem it finds. It returns the families, so a test can also check
// which were registered.
func Lint(t testing.TB, g prometheus.Gatherer) []*dto.MetricFamily {
	t.Helper()
	mfs := gather(t, g)
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	if len(problems) > 0 {
		t.FailNow()
	}
	return mfs
}

// one is the family name and its one series whose labels include labels.
func one(t testing.TB, g prometheus.Gatherer, name string, labels []string) (*dto.MetricFamily, *dto.Metric) {
	t.Helper()
	if len(labels)%2 != 0 {
		t.Fatalf("%s: labels %q are not name, value pairs", name, labels)
	}
	f := family(t, g, name)
	if f == nil {
		t.Fatalf("%s: no such family", name)
	}
	var found []*dto.Metric
	for _, m := range f.GetMetric() {
		if matches(m, labels) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%s: %d series match; the family has %s", name, pairs(labels), len(found), all(f))
	}
	return f, found[0]
}

// value is the value of m, a series of the counter, gauge or untyped
// family f.
func value(t testing.TB, f *dto.MetricFamily, m *dto.Metric) float64 {
	t.Helper()
	switch f.GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue()
	}
	t.Fatalf("%s is a %s, not a counter, gauge or untyped", f.GetName(), f.GetType())
	return 0
}

// family is the family name in g, or nil when g has none.
func family(t testing.TB, g prometheus.Gatherer, name string) *dto.MetricFamily {
	t.Helper()
	for _, f := range gather(t, g) {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

func gather(t testing.TB, g prometheus.Gatherer) []*dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return mfs
}

// matches reports whether m has each label pair of kv (name, value, ...).
func matches(m *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
			return l.GetName() == kv[i] && l.GetValue() == kv[i+1]
		}) {
			return false
		}
	}
	return true
}

// all lists f's series for a failure message.
func all(f *dto.MetricFamily) string {
	if len(f.GetMetric()) == 0 {
		return "no series"
	}
	var s []string
	for _, m := range f.GetMetric() {
		s = append(s, series(f.GetName(), m))
	}
	return strings.Join(s, ", ")
}

// series is m written as Prometheus does, name{label="value",...}.
func series(name string, m *dto.Metric) string {
	var kv []string
	for _, l := range m.GetLabel() {
		kv = append(kv, l.GetName(), l.GetValue())
	}
	return name + pairs(kv)
}

// pairs is the label pairs kv as {name="value",...}, or "" for none.
func pairs(kv []string) string {
	if len(kv) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", kv[i], kv[i+1])
	}
	b.WriteByte('}')
	return b.String()
}
