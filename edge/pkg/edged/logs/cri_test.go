package logs

import (
	"testing"
	"time"
)

func TestParseEntry(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	tests := []struct {
		line    string
		ok      bool
		stream  stream
		partial bool
		content string
	}{
		{line: "2024-01-02T03:04:05.000000006Z stdout F hello world", ok: true, content: "hello world"},
		{line: "2024-01-02T03:04:05.000000006Z stderr P part", ok: true, stream: stderr, partial: true, content: "part"},
		{line: "2024-01-02T03:04:05.000000006Z stdout F:extra tagged", ok: true, content: "tagged"},
		{line: "2024-01-02T03:04:05.000000006Z stdout F  two spaces ", ok: true, content: " two spaces "},
		{line: "2024-01-02T03:04:05.000000006Z stdout F ", ok: true, content: ""},
		{line: "2024-01-02T03:04:05.000000006Z stdout F", ok: true, content: ""},
		{line: "2024-01-02T03:04:05.000000006Z stdout", ok: false},
		{line: "2024-01-02T03:04:05.000000006Z stdin F x", ok: false},
		{line: "2024-01-02T03:04:05.000000006Z stdout X x", ok: false},
		{line: "2024-01-02T03:04:05.000000006Z stdout  x", ok: false},
		{line: "yesterday stdout F x", ok: false},
		{line: " stdout F x", ok: false},
		{line: "", ok: false},
		{line: "garbage", ok: false},
	}
	for _, tt := range tests {
		e, ok := parseEntry([]byte(tt.line))
		if ok != tt.ok {
			t.Errorf("parseEntry(%q) ok = %v, want %v", tt.line, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if e.stream != tt.stream || e.partial != tt.partial || string(e.content) != tt.content {
			t.Errorf("parseEntry(%q) = stream %d partial %v content %q, want %d %v %q",
				tt.line, e.stream, e.partial, e.content, tt.stream, tt.partial, tt.content)
		}
		if !e.time.Equal(ts) || string(e.timestamp) != "2024-01-02T03:04:05.000000006Z" {
			t.Errorf("parseEntry(%q) time = %v (%q), want %v", tt.line, e.time, e.timestamp, ts)
		}
	}
}
