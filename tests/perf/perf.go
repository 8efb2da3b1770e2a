// Package perf is Tether's benchmark harness: it turns Go benchmark output
// into the project's one figure format,
//
//	BENCH <name> <value> <unit>
//
// A figure comes from a Go benchmark named Benchmark<Area>/<figure> that
// reports a rate with b.ReportMetric(v, "<things>/s"): BenchmarkBus/send_recv
// reporting msgs/s prints "BENCH bus.send_recv 1234567 msgs/s". The area is
// lower-cased; deeper sub-benchmarks add further dotted parts. Other output
// passes through untouched. `make bench BENCH=<prefix>` runs only the figures
// whose names start with the prefix (cmd/bench).
package perf

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Figure is one measured rate.
type Figure struct {
	Name  string
	Value float64
	Unit  string
}

func (f Figure) String() string {
	return fmt.Sprintf("BENCH %s %s %s", f.Name, strconv.FormatFloat(f.Value, 'f', 0, 64), f.Unit)
}

// procSuffix is the "-2" GOMAXPROCS suffix go test appends to a benchmark name.
var procSuffix = regexp.MustCompile(`-\d+$`)

// ParseLine returns the figures on one line of `go test -bench` output: every
// metric whose unit ends in "/s". Lines that are not benchmark results give none.
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
		if err != nil || !strings.HasSuffix(fields[i+1], "/s") {
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
