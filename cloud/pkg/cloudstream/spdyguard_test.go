package cloudstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/hashicorp/yamux"
	"github.com/moby/spdystream/spdy"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const errStreamID = 1

// clientFrames are what kube-apiserver sends first: SYN_STREAMs for the
// error stream, stdin and stdout (with compressed headers), and stdin data.
func clientFrames(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	f, err := spdy.NewFramer(&b, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, fr := range []spdy.Frame{
		&spdy.SynStreamFrame{StreamId: errStreamID, Headers: http.Header{"streamType": {"error"}}},
		&spdy.DataFrame{StreamId: 99, Data: []byte("a stream before the error stream's SYN is done")},
		&spdy.SynStreamFrame{StreamId: 3, Headers: http.Header{"streamType": {"stdin"}}},
		&spdy.SynStreamFrame{StreamId: 5, Headers: http.Header{"streamType": {"stdout"}}},
		&spdy.DataFrame{StreamId: 3, Data: []byte("typed input\n")},
	} {
		if err := f.WriteFrame(fr); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// edgeFrames are frames the edge sends: replies (compressed headers), a
// ping, and stdout data of several sizes, then extra.
func edgeFrames(t *testing.T, extra ...spdy.Frame) []byte {
	t.Helper()
	var b bytes.Buffer
	f, err := spdy.NewFramer(&b, nil)
	if err != nil {
		t.Fatal(err)
	}
	frames := []spdy.Frame{
		&spdy.SynReplyFrame{StreamId: errStreamID, Headers: http.Header{}},
		&spdy.SynReplyFrame{StreamId: 3, Headers: http.Header{}},
		&spdy.SynReplyFrame{StreamId: 5, Headers: http.Header{"x-some": {"value"}}},
		&spdy.PingFrame{Id: 2},
		&spdy.DataFrame{StreamId: 5, Data: []byte("out")},
		&spdy.DataFrame{StreamId: 5, Data: bytes.Repeat([]byte("x"), 40<<10)},
		&spdy.DataFrame{StreamId: 5},
	}
	for _, fr := range append(frames, extra...) {
		if err := f.WriteFrame(fr); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// frameEnds are the offsets at which b's frames end.
func frameEnds(b []byte) []int {
	var ends []int
	for off := 0; len(b)-off >= spdyHeaderLen; {
		off += spdyHeaderLen + parseFrameHeader(b[off:]).length
		if off > len(b) {
			break
		}
		ends = append(ends, off)
	}
	return ends
}

// fakeEdge hands out chunks, one per Read, then end; it records writes.
type fakeEdge struct {
	chunks    [][]byte
	end       error
	delivered int
	ended     bool // end was returned
	written   bytes.Buffer
}

func (e *fakeEdge) Read(p []byte) (int, error) {
	for len(e.chunks) > 0 && len(e.chunks[0]) == 0 {
		e.chunks = e.chunks[1:]
	}
	if len(e.chunks) == 0 {
		e.ended = true
		return 0, e.end
	}
	n := copy(p, e.chunks[0])
	e.chunks[0] = e.chunks[0][n:]
	e.delivered += n
	return n, nil
}

func (e *fakeEdge) Write(p []byte) (int, error) { return e.written.Write(p) }
func (e *fakeEdge) Close() error                { return nil }

// newTestGuard is a guard over edge that has seen the client's frames.
func newTestGuard(t *testing.T, edge *fakeEdge, protocol string) *spdyGuard {
	t.Helper()
	g := newSPDYGuard(edge, "edge-a", protocol, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if _, err := g.Write(clientFrames(t)); err != nil {
		t.Fatal(err)
	}
	if g.errStream != errStreamID {
		t.Fatalf("error stream %d, want %d", g.errStream, errStreamID)
	}
	return g
}

// readAll reads g with a small buffer until an error; after every Read it
// checks that only bytes of frames the edge had delivered completely were
// handed out.
func readAll(t *testing.T, g *spdyGuard, edge *fakeEdge, ends []int, psize int) ([]byte, error) {
	t.Helper()
	var out []byte
	p := make([]byte, psize)
	for {
		n, err := g.Read(p)
		out = append(out, p[:n]...)
		if err != nil {
			return out, err
		}
		complete := 0
		for _, e := range ends {
			if e <= edge.delivered {
				complete = e
			}
		}
		if len(out) > complete && !edge.ended {
			t.Fatalf("handed out %d bytes while the edge had delivered %d, whose complete frames end at %d",
				len(out), edge.delivered, complete)
		}
	}
}

// Whatever way the edge's bytes are cut, Read hands out only whole frames
// while more may come, and in the end exactly the edge's bytes.
func TestSPDYGuardHoldsPartialFrames(t *testing.T) {
	frames := edgeFrames(t)
	// A trailing partial frame is handed out at a clean end.
	input := append(bytes.Clone(frames), frames[:frameEnds(frames)[3]+5]...)
	ends := frameEnds(input)
	// Cut at every offset near the start and near each frame's end, and
	// at a stride elsewhere (the 40 KiB frame would make every offset slow).
	cutAt := map[int]bool{}
	for i := 0; i <= len(input); i++ {
		near := i < 600 || i%509 == 0
		for _, e := range ends {
			near = near || (i >= e-20 && i <= e+20)
		}
		if near {
			cutAt[i] = true
		}
	}
	type delivery struct {
		name   string
		chunks [][]byte
		psize  int
	}
	var deliveries []delivery
	for i := range cutAt {
		deliveries = append(deliveries, delivery{fmt.Sprintf("cut at %d", i),
			[][]byte{bytes.Clone(input[:i]), bytes.Clone(input[i:])}, 4096})
	}
	var bytewise [][]byte
	for i := range input {
		bytewise = append(bytewise, input[i:i+1])
	}
	deliveries = append(deliveries, delivery{"a byte at a time", bytewise, 7})
	for _, d := range deliveries {
		edge := &fakeEdge{chunks: d.chunks, end: io.EOF}
		g := newTestGuard(t, edge, "v4.channel.k8s.io")
		out, err := readAll(t, g, edge, ends, d.psize)
		if err != io.EOF {
			t.Fatalf("%s: ended with %v, want io.EOF", d.name, err)
		}
		if !bytes.Equal(out, input) {
			t.Fatalf("%s: handed out %d bytes differing from the edge's %d", d.name, len(out), len(input))
		}
	}
}

// Write passes kube-apiserver's bytes on unchanged and finds the error
// stream however they are cut.
func TestSPDYGuardFindsErrorStream(t *testing.T) {
	input := clientFrames(t)
	for i := range len(input) + 1 {
		edge := &fakeEdge{}
		g := newSPDYGuard(edge, "edge-a", "v4.channel.k8s.io", slog.New(slog.DiscardHandler))
		for _, part := range [][]byte{input[:i], input[i:]} {
			if n, err := g.Write(part); n != len(part) || err != nil {
				t.Fatalf("cut %d: Write = %d, %v", i, n, err)
			}
		}
		if g.errStream != errStreamID || g.off {
			t.Fatalf("cut %d: error stream %d (off %v), want %d", i, g.errStream, g.off, errStreamID)
		}
		if !bytes.Equal(edge.written.Bytes(), input) {
			t.Fatalf("cut %d: the edge got different bytes", i)
		}
	}
}

// lost is a read error of a stream whose session has ended.
var lost = fmt.Errorf("%w (stream read: %v)", errTunnelLost, io.EOF)

// The end of the edge's side: a lost tunnel with no result on the error
// stream gets the injected failure; every other end is unchanged.
func TestSPDYGuardEnd(t *testing.T) {
	plain := edgeFrames(t)
	ends := frameEnds(plain)
	withErrData := edgeFrames(t, &spdy.DataFrame{StreamId: errStreamID, Data: []byte(`{"status":"Failure"}`)})
	withErrFin := edgeFrames(t, &spdy.DataFrame{StreamId: errStreamID, Flags: spdy.DataFlagFin})
	cases := []struct {
		name     string
		input    []byte
		end      error
		protocol string
		noSYN    bool
		want     []byte // what comes before any injected frame
		inject   string // "json", "text" or "" (none)
	}{
		{"tunnel lost", plain, lost, "v4.channel.k8s.io", false, plain, "json"},
		{"tunnel lost, v5", plain, lost, "v5.channel.k8s.io", false, plain, "json"},
		{"tunnel lost, v3", plain, lost, "v3.channel.k8s.io", false, plain, "text"},
		{"tunnel lost mid-frame: the partial frame is dropped", plain[:ends[4]+100], lost, "v4.channel.k8s.io", false, plain[:ends[4]], "json"},
		{"tunnel lost after the edge wrote the error stream", withErrData, lost, "v4.channel.k8s.io", false, withErrData, ""},
		{"tunnel lost after the edge closed the error stream", withErrFin, lost, "v4.channel.k8s.io", false, withErrFin, ""},
		{"tunnel lost before the error stream was seen", plain, lost, "v4.channel.k8s.io", true, plain, ""},
		{"clean end mid-frame", plain[:ends[4]+100], io.EOF, "v4.channel.k8s.io", false, plain[:ends[4]+100], ""},
		{"stream reset", plain, yamux.ErrConnectionReset, "v4.channel.k8s.io", false, plain, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			edge := &fakeEdge{chunks: [][]byte{bytes.Clone(tc.input)}, end: tc.end}
			var g *spdyGuard
			if tc.noSYN {
				g = newSPDYGuard(edge, "edge-a", tc.protocol, slog.New(slog.DiscardHandler))
			} else {
				g = newTestGuard(t, edge, tc.protocol)
			}
			out, err := readAll(t, g, edge, frameEnds(tc.input), 100)
			if err != tc.end {
				t.Errorf("ended with %v, want the edge's %v", err, tc.end)
			}
			if _, err := g.Read(make([]byte, 10)); err != tc.end {
				t.Errorf("a later Read: %v, want the edge's %v", err, tc.end)
			}
			if !bytes.HasPrefix(out, tc.want) {
				t.Fatalf("the edge's bytes were not handed out unchanged")
			}
			rest := out[len(tc.want):]
			if tc.inject == "" {
				if len(rest) != 0 {
					t.Fatalf("%d bytes injected: %q", len(rest), rest)
				}
				return
			}
			checkInjected(t, out, len(tc.want), tc.inject)
		})
	}
}

// checkInjected parses every frame in out (so that the edge's frames and
// the injected one are whole) and checks that the last, starting at
// offset at, is the injected failure.
func checkInjected(t *testing.T, out []byte, at int, kind string) {
	t.Helper()
	r := bytes.NewReader(out)
	f, err := spdy.NewFramer(io.Discard, r)
	if err != nil {
		t.Fatal(err)
	}
	var last spdy.Frame
	lastAt := 0
	for r.Len() > 0 {
		lastAt = len(out) - r.Len()
		if last, err = f.ReadFrame(); err != nil {
			t.Fatalf("frames handed out do not parse at offset %d: %v", lastAt, err)
		}
	}
	if lastAt != at {
		t.Fatalf("the last frame starts at %d, want the injected one at %d", lastAt, at)
	}
	d, ok := last.(*spdy.DataFrame)
	if !ok || d.StreamId != errStreamID || d.Flags != spdy.DataFlagFin {
		t.Fatalf("injected %#v, want a DATA frame with FIN on stream %d", last, errStreamID)
	}
	wantMsg := "stream tunnel to node edge-a lost: " + lost.Error()
	switch kind {
	case "json":
		var st metav1.Status
		if err := json.Unmarshal(d.Data, &st); err != nil {
			t.Fatalf("injected %q: %v", d.Data, err)
		}
		if st.Kind != "Status" || st.APIVersion != "v1" || st.Status != metav1.StatusFailure ||
			st.Reason != metav1.StatusReasonInternalError || st.Message != wantMsg {
			t.Errorf("injected status %+v, want Failure, InternalError, %q", st, wantMsg)
		}
	case "text":
		if string(d.Data) != wantMsg {
			t.Errorf("injected %q, want %q", d.Data, wantMsg)
		}
	}
}
