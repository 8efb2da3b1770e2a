package logs

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sample is a CRI log with both streams, a line in three partial entries,
// an empty line and lines that do not parse. Its output is
// "one\ntwo err\nthree!\n\nlast\n".
const sample = `2024-01-01T00:00:01.000000001Z stdout F one
2024-01-01T00:00:02.000000000Z stderr F two err
garbage line
2024-01-01T00:00:03.5Z stdout P thr
2024-01-01T00:00:04Z stdout P e
2024-01-01T00:00:05Z stdout F e!
2024-01-01T00:00:06Z stdbad F nope
2024-01-01T00:00:07Z stdout X nope
notatime stdout F nope
2024-01-01T00:00:08Z stdout F
2024-01-01T00:00:09Z stderr F last
`

func writeLog(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func ptr(n int64) *int64 { return &n }

func at(sec int, nsec int) time.Time { return time.Date(2024, 1, 1, 0, 0, sec, nsec, time.UTC) }

func TestRead(t *testing.T) {
	const stamped = "2024-01-01T00:00:01.000000001Z one\n" +
		"2024-01-01T00:00:02.000000000Z two err\n" +
		"2024-01-01T00:00:03.5Z three!\n" +
		"2024-01-01T00:00:08Z \n" +
		"2024-01-01T00:00:09Z last\n"
	noNewline := strings.TrimSuffix(sample, "\n")
	interleaved := "2024-01-01T00:00:01Z stdout P a\n" +
		"2024-01-01T00:00:02Z stderr F x\n" +
		"2024-01-01T00:00:03Z stdout F b\n"
	tests := []struct {
		name string
		file string
		opts Options
		want string
	}{
		{name: "all", file: sample, want: "one\ntwo err\nthree!\n\nlast\n"},
		{name: "empty file", file: "", want: ""},
		{name: "only garbage", file: "x\ny z\n\n", want: ""},
		{name: "last line without newline", file: noNewline, want: "one\ntwo err\nthree!\n\nlast\n"},
		{name: "last entry partial", file: sample + "2024-01-01T00:00:10Z stdout P cut", want: "one\ntwo err\nthree!\n\nlast\ncut"},
		{name: "timestamps", file: sample, opts: Options{Timestamps: true}, want: stamped},
		{name: "interleaved streams", file: interleaved, want: "ax\nb\n"},
		{name: "interleaved streams timestamps", file: interleaved, opts: Options{Timestamps: true},
			want: "2024-01-01T00:00:01Z a2024-01-01T00:00:02Z x\nb\n"},
		{name: "since before all", file: sample, opts: Options{Since: at(0, 0)}, want: "one\ntwo err\nthree!\n\nlast\n"},
		{name: "since exact", file: sample, opts: Options{Since: at(2, 0)}, want: "two err\nthree!\n\nlast\n"},
		{name: "since a line's first entry", file: sample, opts: Options{Since: at(3, 500000000)}, want: "three!\n\nlast\n"},
		{name: "since inside a line", file: sample, opts: Options{Since: at(4, 0)}, want: "\nlast\n"},
		{name: "since after all", file: sample, opts: Options{Since: at(10, 0)}, want: ""},
		{name: "tail 0", file: sample, opts: Options{TailLines: ptr(0)}, want: ""},
		{name: "tail 1", file: sample, opts: Options{TailLines: ptr(1)}, want: "last\n"},
		{name: "tail 2", file: sample, opts: Options{TailLines: ptr(2)}, want: "\nlast\n"},
		{name: "tail 3 counts partials with their line", file: sample, opts: Options{TailLines: ptr(3)}, want: "three!\n\nlast\n"},
		{name: "tail 4", file: sample, opts: Options{TailLines: ptr(4)}, want: "two err\nthree!\n\nlast\n"},
		{name: "tail 5 is the file", file: sample, opts: Options{TailLines: ptr(5)}, want: "one\ntwo err\nthree!\n\nlast\n"},
		{name: "tail more than the file", file: sample, opts: Options{TailLines: ptr(100)}, want: "one\ntwo err\nthree!\n\nlast\n"},
		{name: "tail negative is all", file: sample, opts: Options{TailLines: ptr(-1)}, want: "one\ntwo err\nthree!\n\nlast\n"},
		{name: "tail without final newline", file: noNewline, opts: Options{TailLines: ptr(2)}, want: "\nlast\n"},
		{name: "tail of empty file", file: "", opts: Options{TailLines: ptr(3)}, want: ""},
		{name: "limit cuts a line", file: sample, opts: Options{LimitBytes: ptr(6)}, want: "one\ntw"},
		{name: "limit at a line end", file: sample, opts: Options{LimitBytes: ptr(4)}, want: "one\n"},
		{name: "limit 0", file: sample, opts: Options{LimitBytes: ptr(0)}, want: ""},
		{name: "limit over the output", file: sample, opts: Options{LimitBytes: ptr(1000)}, want: "one\ntwo err\nthree!\n\nlast\n"},
		{name: "limit cuts a timestamp", file: sample, opts: Options{LimitBytes: ptr(10), Timestamps: true}, want: "2024-01-01"},
		{name: "tail and since", file: sample, opts: Options{TailLines: ptr(3), Since: at(4, 0)}, want: "\nlast\n"},
		{name: "tail since timestamps limit", file: sample,
			opts: Options{TailLines: ptr(4), Since: at(3, 0), Timestamps: true, LimitBytes: ptr(35)},
			want: "2024-01-01T00:00:03.5Z three!\n2024-"},
		{name: "since excludes what tail chose", file: sample, opts: Options{TailLines: ptr(1), Since: at(10, 0)}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeLog(t, tt.file)
			var out bytes.Buffer
			if err := Read(context.Background(), path, tt.opts, &out, nil); err != nil {
				t.Fatalf("Read: %v", err)
			}
			if out.String() != tt.want {
				t.Errorf("Read wrote\n%q\nwant\n%q", out.String(), tt.want)
			}
		})
	}
}

func TestReadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gone", "0.log")
	err := Read(context.Background(), path, Options{}, &bytes.Buffer{}, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read of a missing file = %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
}

// failWriter takes n bytes, then fails.
type failWriter struct {
	n   int
	err error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, w.err
	}
	w.n -= len(p)
	return len(p), nil
}

func TestReadWriteError(t *testing.T) {
	errGone := errors.New("client went away")
	var b strings.Builder
	for i := range 5000 {
		b.WriteString("2024-01-01T00:00:01Z stdout F a line of some length to fill buffers " + strings.Repeat("x", i%50) + "\n")
	}
	path := writeLog(t, b.String())
	for _, n := range []int{0, 100, 100000} {
		err := Read(context.Background(), path, Options{}, &failWriter{n: n, err: errGone}, nil)
		if !errors.Is(err, errGone) {
			t.Errorf("Read into a writer failing after %d bytes = %v, want %v", n, err, errGone)
		}
	}
}

func TestReadLongLine(t *testing.T) {
	long := strings.Repeat("y", maxLineLen+100)
	file := "2024-01-01T00:00:01Z stdout F " + long + "\n2024-01-01T00:00:02Z stdout F next\n"
	path := writeLog(t, file)
	var out bytes.Buffer
	if err := Read(context.Background(), path, Options{}, &out, nil); err != nil {
		t.Fatal(err)
	}
	// The line is cut at maxLineLen bytes of file, newline added; the
	// next line is whole.
	cut := maxLineLen - len("2024-01-01T00:00:01Z stdout F ")
	if want := strings.Repeat("y", cut) + "\nnext\n"; out.String() != want {
		t.Errorf("Read wrote %d bytes ending %q, want %d ending %q", out.Len(), tail(out.String()), len(want), tail(want))
	}
}

func tail(s string) string { return s[max(0, len(s)-20):] }
