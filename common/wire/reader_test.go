package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/tether-edge/tether/common/message"
)

func someMessages() []message.Message {
	var ms []message.Message
	for i := range 5 {
		m := fullMessage()
		m.Header.ID = fmt.Sprint("id-", i)
		m.Content = bytes.Repeat([]byte{byte(i)}, i*1000)
		ms = append(ms, m)
	}
	ms = append(ms, message.Message{}, message.Message{Content: make([]byte, 300<<10)})
	return ms
}

// readAll reads frames until an error and checks them against want.
func readAll(t *testing.T, r *Reader, want []message.Message) error {
	t.Helper()
	for i, w := range want {
		m, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !equalMessage(m, w) {
			t.Fatalf("frame %d: got ID %q with %d bytes, want ID %q with %d", i, m.Header.ID, len(m.Content), w.Header.ID, len(w.Content))
		}
	}
	_, err := r.Next()
	return err
}

func TestReaderBuffer(t *testing.T) {
	ms := someMessages()
	var buf bytes.Buffer
	w := Codec{}.NewWriter(&buf)
	for _, m := range ms {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	r := Codec{}.NewReader(&buf)
	if err := readAll(t, r, ms); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("EOF is not sticky: %v", err)
	}
}

func TestReaderPipe(t *testing.T) {
	ms := someMessages()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		for _, m := range ms {
			if err := (Codec{}).WriteFrame(pw, m); err != nil {
				done <- err
				return
			}
		}
		done <- pw.Close()
	}()
	if err := readAll(t, Codec{}.NewReader(pr), ms); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestReaderSplitReads hands the stream over one byte per Read call, and in
// reads that stop at awkward places, so every frame spans reads.
func TestReaderSplitReads(t *testing.T) {
	ms := someMessages()
	var stream []byte
	for _, m := range ms {
		stream = append(stream, mustEncode(t, Codec{}, m)...)
	}
	for name, src := range map[string]io.Reader{
		"one byte":  iotest.OneByteReader(bytes.NewReader(stream)),
		"half":      iotest.HalfReader(bytes.NewReader(stream)),
		"data+EOF":  iotest.DataErrReader(bytes.NewReader(stream)),
		"chunks 7":  &chunkReader{b: stream, n: 7},
		"chunks 3k": &chunkReader{b: stream, n: 3001},
	} {
		t.Run(name, func(t *testing.T) {
			if err := readAll(t, Codec{}.NewReader(src), ms); err != io.EOF {
				t.Fatalf("after the last frame: %v, want io.EOF", err)
			}
		})
	}
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

func TestReaderUnexpectedEOF(t *testing.T) {
	frame := mustEncode(t, Codec{}, fullMessage())
	for i := 1; i < len(frame); i++ {
		stream := append(mustEncode(t, Codec{}, fullMessage()), frame[:i]...)
		r := Codec{}.NewReader(bytes.NewReader(stream))
		if _, err := r.Next(); err != nil {
			t.Fatalf("first frame: %v", err)
		}
		_, err := r.Next()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("stream ends %d bytes into a frame: %v, want io.ErrUnexpectedEOF", i, err)
		}
	}
}

func TestReaderTooLarge(t *testing.T) {
	// A prefix over the limit, and a body that is never sent: the Reader
	// must fail on the prefix alone, without waiting for or allocating the body.
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(binary.BigEndian.AppendUint32(nil, 1<<30))
		// Leave the pipe open: reading any further would hang the test.
	}()
	defer pw.Close()
	r := Codec{}.NewReader(pr)
	if _, err := r.Next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Next: %v, want ErrFrameTooLarge", err)
	}
	if _, err := r.Next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("second Next: %v, want the sticky ErrFrameTooLarge", err)
	}

	frame := mustEncode(t, Codec{}, fullMessage())
	r = Codec{MaxFrameSize: len(frame) - 5}.NewReader(bytes.NewReader(frame))
	if _, err := r.Next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Next with a small limit: %v, want ErrFrameTooLarge", err)
	}
}

// TestReaderLyingPrefix: a peer announces a frame at the limit and sends a
// little; the Reader must not allocate the announced size up front.
func TestReaderLyingPrefix(t *testing.T) {
	stream := append(binary.BigEndian.AppendUint32(nil, DefaultMaxFrameSize), 1, 0, 0)
	const runs = 10
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		r := Codec{}.NewReader(bytes.NewReader(stream))
		if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("Next: %v, want io.ErrUnexpectedEOF", err)
		}
	}
	runtime.ReadMemStats(&after)
	if got := (after.TotalAlloc - before.TotalAlloc) / runs; got > 1<<20 {
		t.Errorf("a 7-byte stream announcing %d bytes cost %d bytes of allocation", DefaultMaxFrameSize, got)
	}
}

func TestReaderMalformedIsSticky(t *testing.T) {
	bad := mustEncode(t, Codec{}, fullMessage())
	bad[4] = 9
	stream := append(bad, mustEncode(t, Codec{}, fullMessage())...)
	r := Codec{}.NewReader(bytes.NewReader(stream))
	_, err := r.Next()
	if !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("Next: %v, want ErrUnsupportedVersion", err)
	}
	if _, err2 := r.Next(); err2 != err {
		t.Fatalf("second Next: %v, want the same error", err2)
	}
}

func TestReaderOwnsMemory(t *testing.T) {
	frame := mustEncode(t, Codec{}, fullMessage())
	stream := append(append([]byte(nil), frame...), frame...)
	r := Codec{}.NewReader(bytes.NewReader(stream))
	first, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	for i := range stream {
		stream[i] = 0
	}
	if !equalMessage(first, fullMessage()) {
		t.Error("a message from Reader changed when the stream's bytes or the next frame did")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriterErrors(t *testing.T) {
	w := Codec{}.NewWriter(failWriter{})
	if err := w.Write(fullMessage()); err == nil || !bytes.Contains([]byte(err.Error()), []byte("broken pipe")) {
		t.Errorf("Write to a failing stream: %v", err)
	}
	if err := (Codec{}).WriteFrame(failWriter{}, fullMessage()); err == nil {
		t.Error("WriteFrame to a failing stream: no error")
	}
	var buf bytes.Buffer
	w = Codec{}.NewWriter(&buf)
	m := fullMessage()
	if err := w.Write(m); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(100, func() { buf.Reset(); _ = w.Write(m) }); allocs != 0 {
		t.Errorf("Writer.Write: %v allocs, want 0", allocs)
	}
}

// TestReadFrame reads frames one call at a time from a stream that holds
// them and more: each call must stop at its frame's end.
func TestReadFrame(t *testing.T) {
	ms := someMessages()
	var stream bytes.Buffer
	for _, m := range ms {
		stream.Write(mustEncode(t, Codec{}, m))
	}
	stream.WriteString("tail")
	for i, want := range ms {
		m, err := Codec{}.ReadFrame(&stream)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !equalMessage(m, want) {
			t.Fatalf("frame %d: got ID %q with %d bytes, want ID %q", i, m.Header.ID, len(m.Content), want.Header.ID)
		}
	}
	if stream.String() != "tail" {
		t.Fatalf("after the frames the stream holds %q, want %q", stream.String(), "tail")
	}
	if _, err := (Codec{}).ReadFrame(bytes.NewReader(nil)); err != io.EOF {
		t.Errorf("ReadFrame of an empty stream: %v, want io.EOF", err)
	}
	frame := mustEncode(t, Codec{}, fullMessage())
	for _, cut := range []int{1, 4, 5, len(frame) - 1} {
		if _, err := (Codec{}).ReadFrame(bytes.NewReader(frame[:cut])); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("frame cut at %d: %v, want io.ErrUnexpectedEOF", cut, err)
		}
	}
	if _, err := (Codec{MaxFrameSize: len(frame) - 5}).ReadFrame(bytes.NewReader(frame)); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("frame over the limit: %v, want ErrFrameTooLarge", err)
	}
	bad := append([]byte(nil), frame...)
	bad[4] = 1
	if _, err := (Codec{}).ReadFrame(bytes.NewReader(bad)); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("v1 frame: %v, want ErrUnsupportedVersion", err)
	}
}

func TestFrameLimit(t *testing.T) {
	for max, want := range map[int]int{0: DefaultMaxFrameSize, -1: DefaultMaxFrameSize, 100: 100, 1 << 40: 1<<32 - 1} {
		if got := (Codec{MaxFrameSize: max}).FrameLimit(); got != want {
			t.Errorf("Codec{MaxFrameSize: %d}.FrameLimit() = %d, want %d", max, got, want)
		}
	}
}
