package perf

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		want []Figure
	}{
		{"BenchmarkBus/send_recv-2   \t 3000000\t       412.5 ns/op\t   2424242 msgs/s",
			[]Figure{{"bus.send_recv", 2424242, "msgs/s"}}},
		{"BenchmarkWire/codec_1k \t 1000 \t 900 ns/op \t 1111111 msgs/s \t 1024 B/op \t 3 allocs/op",
			[]Figure{{"wire.codec_1k", 1111111, "msgs/s"}}},
		{"BenchmarkTwin/updates/mqtt-2 10 5 ns/op 5000 updates/s 12 MB/s",
			[]Figure{{"twin.updates.mqtt", 5000, "updates/s"}, {"twin.updates.mqtt", 12, "MB/s"}}},
		{"BenchmarkHTTPServer/get-2 10 5 ns/op 7 req/s", []Figure{{"httpserver.get", 7, "req/s"}}},
		{"BenchmarkPlain-2 100 5 ns/op 7 req/s", nil},                     // no sub-benchmark: not a figure
		{"BenchmarkBus/send_recv-2 100 5 ns/op", nil},                     // no metric of its own
		{"BenchmarkBus/send_recv-2 100 5 ns/op 24 B/op 1 allocs/op", nil}, // go test's only
		{"BenchmarkTunnel/nodes_1000_rss_mb-2 \t 1\t 31234567890 ns/op\t 182.5 MB\t 98.20 KiB/node",
			[]Figure{{"tunnel.nodes_1000_rss_mb", 182.5, "MB"}, {"tunnel.nodes_1000_rss_mb", 98.2, "KiB/node"}}},
		{"BenchmarkTunnel/reconnect_5000_s-2 1 40000000000 ns/op 12.34 s",
			[]Figure{{"tunnel.reconnect_5000_s", 12.34, "s"}}},
		{"BenchmarkBus/send_recv-2 --- FAIL", nil},
		{"ok  \tgithub.com/x/y\t1.2s", nil},
		{"goos: linux", nil},
	}
	for _, tt := range tests {
		if got := ParseLine(tt.line); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseLine(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

func TestFigureString(t *testing.T) {
	tests := []struct {
		fig  Figure
		want string
	}{
		{Figure{"bus.roundtrip", 251234.7, "pairs/s"}, "BENCH bus.roundtrip 251235 pairs/s"},
		{Figure{"tunnel.nodes_1000_rss_mb", 182.46, "MB"}, "BENCH tunnel.nodes_1000_rss_mb 182 MB"},
		{Figure{"tunnel.nodes_1000_rss_mb", 98.24, "KiB/node"}, "BENCH tunnel.nodes_1000_rss_mb 98.2 KiB/node"},
		{Figure{"tunnel.reconnect_5000_s", 12.345, "s"}, "BENCH tunnel.reconnect_5000_s 12.3 s"},
		{Figure{"tunnel.reconnect_5000_s", 0.25, "s"}, "BENCH tunnel.reconnect_5000_s 0.25 s"},
		{Figure{"x.y", 7, "req/s"}, "BENCH x.y 7 req/s"},
	}
	for _, tt := range tests {
		if got := tt.fig.String(); got != tt.want {
			t.Errorf("%v: got %q, want %q", tt.fig, got, tt.want)
		}
	}
}

// The -bench pattern must select exactly the benchmarks whose figure names
// start with the prefix; go test matches each /-separated level separately.
func TestBenchRegexpSelectsByPrefix(t *testing.T) {
	benches := []string{"BenchmarkBus/send_recv", "BenchmarkBus/roundtrip", "BenchmarkWire/codec_1k", "BenchmarkBusy/x"}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", benches},
		{"bus", []string{"BenchmarkBus/send_recv", "BenchmarkBus/roundtrip", "BenchmarkBusy/x"}},
		{"bus.", []string{"BenchmarkBus/send_recv", "BenchmarkBus/roundtrip"}},
		{"bus.round", []string{"BenchmarkBus/roundtrip"}},
		{"wire.codec_1k", []string{"BenchmarkWire/codec_1k"}},
	}
	for _, tt := range tests {
		levels := strings.Split(BenchRegexp(tt.prefix), "/")
		var got []string
		for _, b := range benches {
			if matchLevels(t, levels, strings.Split(b, "/")) {
				got = append(got, b)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("prefix %q (pattern %q) selects %v, want %v", tt.prefix, BenchRegexp(tt.prefix), got, tt.want)
		}
	}
}

// matchLevels mimics go test: level i of the name must match level i of the pattern.
func matchLevels(t *testing.T, pattern, name []string) bool {
	for i, p := range pattern {
		if i >= len(name) {
			return true
		}
		if !regexp.MustCompile(p).MatchString(name[i]) {
			return false
		}
	}
	return true
}
