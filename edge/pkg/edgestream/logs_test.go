package edgestream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tether-edge/tether/edge/pkg/edged/logs"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// optsString prints logs.Options compactly for comparisons.
func optsString(r logRequest) string {
	o := r.opts
	p := func(v *int64) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprint(*v)
	}
	since := "-"
	if !o.Since.IsZero() {
		since = o.Since.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("previous=%v follow=%v timestamps=%v tail=%s limit=%s since=%s",
		r.previous, o.Follow, o.Timestamps, p(o.TailLines), p(o.LimitBytes), since)
}

func TestParseLogQuery(t *testing.T) {
	for _, tc := range []struct {
		query   string
		want    string
		wantErr string // the parameter the error names
	}{
		{query: "", want: "previous=false follow=false timestamps=false tail=- limit=- since=-"},
		{query: "follow=true&timestamps=1&previous=false", want: "previous=false follow=true timestamps=true tail=- limit=- since=-"},
		{query: "follow=&previous=0&timestamps=FALSE", want: "previous=false follow=true timestamps=false tail=- limit=- since=-"},
		{query: "previous=true&tailLines=10&limitBytes=100", want: "previous=true follow=false timestamps=false tail=10 limit=100 since=-"},
		{query: "tailLines=0", want: "previous=false follow=false timestamps=false tail=0 limit=- since=-"},
		{query: "tail=5&tailLines=10", want: "previous=false follow=false timestamps=false tail=5 limit=- since=-"},
		{query: "tail=all&tailLines=10", want: "previous=false follow=false timestamps=false tail=- limit=- since=-"},
		{query: "sinceSeconds=60", want: "previous=false follow=false timestamps=false tail=- limit=- since=2026-03-01T11:59:00Z"},
		{query: "sinceTime=2026-03-01T10:00:00Z", want: "previous=false follow=false timestamps=false tail=- limit=- since=2026-03-01T10:00:00Z"},
		{query: "stream=All", want: "previous=false follow=false timestamps=false tail=- limit=- since=-"},
		{query: "tailLines=-1", wantErr: "tailLines"},
		{query: "tailLines=ten", wantErr: "tailLines"},
		{query: "tail=x", wantErr: "tail"},
		{query: "limitBytes=0", wantErr: "limitBytes"},
		{query: "sinceSeconds=0", wantErr: "sinceSeconds"},
		{query: "sinceTime=yesterday", wantErr: "sinceTime"},
		{query: "sinceSeconds=5&sinceTime=2026-03-01T10:00:00Z", wantErr: "sinceSeconds and sinceTime"},
		{query: "stream=Stdout", wantErr: "stream"},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		r, err := parseLogQuery(q, testNow)
		if tc.wantErr != "" {
			if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "query parameter"+plural(tc.wantErr)+" "+tc.wantErr) {
				t.Errorf("parseLogQuery(%q) = %v, want a bad request naming %s", tc.query, err, tc.wantErr)
			}
			continue
		}
		if err != nil || optsString(r) != tc.want {
			t.Errorf("parseLogQuery(%q) = %s, %v\nwant %s", tc.query, optsString(r), err, tc.want)
		}
	}
}

func plural(param string) string {
	if strings.Contains(param, " and ") {
		return "s"
	}
	return ""
}

// writeCRILog writes lines as the runtime does (stdout, full lines), one
// second apart from start.
func writeCRILog(t *testing.T, path string, start time.Time, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i, l := range lines {
		ts := start.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)
		if _, err := fmt.Fprintf(f, "%s stdout F %s\n", ts, l); err != nil {
			t.Fatal(err)
		}
	}
}

// logsRuntime is a fake with one running container "app" and a previous
// attempt, both with log files.
func logsRuntime(t *testing.T) *fakeRuntime {
	dir := t.TempDir()
	rt := newFakeRuntime()
	rt.add("default/web/app", Container{ID: "app-2", LogPath: filepath.Join(dir, "2.log")}, true)
	rt.add("default/web/app/previous", Container{ID: "app-1", LogPath: filepath.Join(dir, "1.log")}, false)
	rt.add("default/web/nolog", Container{ID: "nolog-0", LogPath: filepath.Join(dir, "none.log")}, true)
	writeCRILog(t, filepath.Join(dir, "2.log"), testNow, "one", "two", "three")
	writeCRILog(t, filepath.Join(dir, "1.log"), testNow.Add(-time.Hour), "old")
	return rt
}

func TestContainerLogs(t *testing.T) {
	h := newTestHandler(t, logsRuntime(t), HandlerOptions{Now: func() time.Time { return testNow.Add(time.Minute) }})
	for _, tc := range []struct {
		target string
		code   int
		body   string
	}{
		{"/containerLogs/default/web/app", 200, "one\ntwo\nthree\n"},
		{"/containerLogs/default/web/app?tailLines=1", 200, "three\n"},
		{"/containerLogs/default/web/app?tailLines=2&timestamps=true", 200,
			"2026-03-01T12:00:01Z two\n2026-03-01T12:00:02Z three\n"},
		{"/containerLogs/default/web/app?limitBytes=6", 200, "one\ntw"},
		{"/containerLogs/default/web/app?sinceSeconds=59", 200, "two\nthree\n"},
		{"/containerLogs/default/web/app?previous=true", 200, "old\n"},
		{"/containerLogs/default/web/db", 404, "container \"db\" not found in pod \"web\"\n"},
		{"/containerLogs/default/other/app", 404, "pod default/other is not on node n1\n"},
		{"/containerLogs/default/web/nolog", 404, "no log file for container \"nolog\" in pod \"web\"\n"},
		{"/containerLogs/default/web/app?tailLines=x", 400, "invalid value \"x\" for query parameter tailLines: want an integer\n"},
	} {
		code, body, hdr := do(h, "GET", tc.target, nil)
		if code != tc.code || body != tc.body {
			t.Errorf("GET %s = %d %q, want %d %q", tc.target, code, body, tc.code, tc.body)
		}
		if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("GET %s: Content-Type %q, want text/plain", tc.target, ct)
		}
	}
	rt := logsRuntime(t)
	delete(rt.containers, "default/web/app/previous")
	code, body, _ := do(newTestHandler(t, rt, HandlerOptions{}), "GET", "/containerLogs/default/web/app?previous=1", nil)
	if want := "previous terminated container \"app\" in pod \"web\" not found\n"; code != 400 || body != want {
		t.Errorf("previous without one = %d %q, want 400 %q", code, body, want)
	}
}

// TestContainerLogsOptions checks what the handler asks of the log reader.
func TestContainerLogsOptions(t *testing.T) {
	rt := logsRuntime(t)
	var got logs.Options
	var gotPath string
	read := func(_ context.Context, path string, o logs.Options, w io.Writer, running func() bool) error {
		got, gotPath = o, path
		_, err := fmt.Fprintf(w, "running=%v", running())
		return err
	}
	h := newTestHandler(t, rt, HandlerOptions{ReadLogs: read, Now: func() time.Time { return testNow }})
	code, body, _ := do(h, "GET", "/containerLogs/default/web/app?follow=true&tailLines=3&limitBytes=9&sinceSeconds=10&timestamps=true", nil)
	if code != 200 || body != "running=true" {
		t.Fatalf("GET = %d %q, want 200 running=true", code, body)
	}
	want := logRequest{opts: logs.Options{Follow: true, Timestamps: true, TailLines: ptr(3), LimitBytes: ptr(9), Since: testNow.Add(-10 * time.Second)}}
	if optsString(logRequest{opts: got}) != optsString(want) || gotPath != rt.containers["default/web/app"].LogPath {
		t.Errorf("reader got %s of %s, want %s of the newest attempt", optsString(logRequest{opts: got}), gotPath, optsString(want))
	}
	if _, body, _ := do(h, "GET", "/containerLogs/default/web/app?previous=true", nil); body != "running=false" {
		t.Errorf("previous attempt: %q, want running=false", body)
	}
}

func ptr(v int64) *int64 { return &v }

// TestContainerLogsFollow: the header comes before any line, lines come as
// they are written, and the follow ends when the container stops.
func TestContainerLogsFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	writeCRILog(t, path, testNow) // empty
	rt := newFakeRuntime()
	rt.add("default/web/app", Container{ID: "app-0", LogPath: path}, true)
	srv := httptest.NewServer(newTestHandler(t, rt, HandlerOptions{}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/containerLogs/default/web/app?follow=true", nil)
	resp, err := srv.Client().Do(req) // returns with the header: nothing is logged yet
	if err != nil {
		t.Fatalf("GET follow: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("GET follow = %d %q, want 200 text/plain", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewReader(resp.Body)
	writeCRILog(t, path, testNow, "first")
	if l, err := lines.ReadString('\n'); err != nil || l != "first\n" {
		t.Fatalf("first followed line %q, %v", l, err)
	}
	// As a runtime does: the last line is written, then the container
	// stops. (The other order raced: a reader at EOF that sees the stop
	// before the write rightly ends without it.)
	writeCRILog(t, path, testNow, "last")
	rt.setRunning("app-0", false)
	rest, err := io.ReadAll(lines) // ends: the container stopped
	if err != nil || string(rest) != "last\n" {
		t.Fatalf("rest of the follow %q, %v; want \"last\\n\" and the end", rest, err)
	}
}
