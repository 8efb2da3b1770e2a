// Package perf is Tether's benchmark harness: it turns Go benchmark output
// into the project's one figure format,
//
//	BENCH <name> <value> <unit>
//
// A figure comes from a Go benchmark named Benchmark<Area>/<figure> that
// reports a metric of its own with b.ReportMetric: a rate such as
// "msgs/s", or a quantity such as "MB", "s" or "KiB/node". BenchmarkBus/send_recv
// reporting msgs/s prints "BENCH bus.send_recv 1234567 msgs/s". Every unit
// but go test's own "ns/op", "B/op" and "allocs/op" makes a figure. The area
// is lower-cased; deeper sub-benchmarks add further dotted parts. Other
// output passes through untouched. `make bench BENCH=<prefix>` runs only the figures
// whose names start with the prefix (cmd/bench).
package perf

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Figure is one measured value.
type Figure struct {
	Name  string
	Value float64
	Unit  string
}

// String renders the figure's line. Values of 1000 and more are whole
// numbers; smaller ones keep three significant digits (12.3 s, 0.25 s).
func (f Figure) String() string {
	return fmt.Sprintf("BENCH %s %s %s", f.Name, formatValue(f.Value), f.Unit)
}

func formatValue(v float64) string {
	if math.Abs(v) >= 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	rounded, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return strconv.FormatFloat(rounded, 'f', -1, 64)
}

// standardUnits are the metrics go test reports itself; they are not figures.
var standardUnits = map[string]bool{"ns/op": true, "B/op": true, "allocs/op": true}

// procSuffix is the "-2" GOMAXPROCS suffix go test appends to a benchmark name.
var procSuffix = regexp.MustCompile(`-\d+$`)

// ParseLine returns the figures on one line of `go test -bench` output: every
// metric but ns/op, B/op and allocs/op. Lines that are not benchmark results
// give none.
func ParseLine(line string) []Figure {
	fields := strings.Fields(line)
	if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
		return nil
	}
	if _, err := strconv.Atoi(fields[1]); err != nil { // iteration count
		return nil
	}
	name, ok := FigureName(fields[0])
	if !ok {
		return nil
	}
	var figs []Figure
	for i := 2; i+1 < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil || standardUnits[fields[i+1]] {
			continue
		}
		figs = append(figs, Figure{Name: name, Value: v, Unit: fields[i+1]})
	}
	return figs
}

// FigureName maps a Go benchmark name (as go test prints it, with or without
// the -N suffix) to a figure name: BenchmarkBus/send_recv-2 → bus.send_recv.
// Top-level benchmarks without a sub-benchmark are not figures.
func FigureName(bench string) (string, bool) {
	bench = procSuffix.ReplaceAllString(bench, "")
	parts := strings.Split(strings.TrimPrefix(bench, "Benchmark"), "/")
	if len(parts) < 2 || parts[0] == "" {
		return "", false
	}
	parts[0] = strings.ToLower(parts[0])
	return strings.Join(parts, "."), true
}

// BenchRegexp returns the -bench pattern that runs the figures whose names
// start with prefix ("" runs every benchmark).
func BenchRegexp(prefix string) string {
	if prefix == "" {
		return "."
	}
	area, rest, dotted := strings.Cut(prefix, ".")
	re := "^Benchmark(?i:" + regexp.QuoteMeta(area) + ")"
	if dotted {
		re += "$/^" + regexp.QuoteMeta(strings.ReplaceAll(rest, ".", "/"))
	}
	return re
}
