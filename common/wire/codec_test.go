package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/tether-edge/tether/common/message"
)

// fullMessage has every field set. It is also the golden message
// (golden_test.go): changing it means regenerating the golden file.
func fullMessage() message.Message {
	return message.Message{
		Header: message.Header{
			ID:              "0123456789abcdef0123456789abcdef",
			ParentID:        "fedcba9876543210fedcba9876543210",
			Timestamp:       1767225600123,
			Sync:            true,
			ResourceVersion: "48213",
			Seq:             1234567,
		},
		Route: message.Route{
			Source:      "metamanager",
			Destination: "edged",
			Group:       "meta",
			Operation:   message.OpUpdate,
			Resource:    message.Resource{Node: "edge-1", Namespace: "default", Type: "pod", Name: "web-0"},
		},
		Content: []byte(`{"kind":"Pod","metadata":{"name":"web-0"}}`),
	}
}

// equalMessage compares messages, treating nil and empty Content as equal.
func equalMessage(a, b message.Message) bool {
	return a.Header == b.Header && a.Route == b.Route && bytes.Equal(a.Content, b.Content)
}

func mustEncode(t testing.TB, c Codec, m message.Message) []byte {
	t.Helper()
	frame, err := c.Encode(m)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return frame
}

func TestRoundTrip(t *testing.T) {
	large := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1<<20) // 4 MiB
	negative := fullMessage()
	negative.Header.Timestamp = -1 << 63
	maxTS := fullMessage()
	maxTS.Header.Timestamp = 1<<63 - 1
	maxSeq := fullMessage()
	maxSeq.Header.Seq = 1<<64 - 1
	zeroSeq := fullMessage()
	zeroSeq.Header.Seq = 0
	cluster := fullMessage()
	cluster.Route.Resource = message.Resource{Type: "node", Name: "edge-1"}
	notSync := fullMessage()
	notSync.Header.Sync = false
	long := fullMessage()
	long.Route.Source = strings.Repeat("s", 300) // two-byte length
	long.Header.ID = strings.Repeat("i", 70000)  // three-byte length
	tests := map[string]message.Message{
		"full":          fullMessage(),
		"empty":         {},
		"only content":  {Content: []byte("x")},
		"large content": {Route: message.Route{Operation: message.OpInsert}, Content: large},
		"min timestamp": negative,
		"max timestamp": maxTS,
		"max seq":       maxSeq,
		"zero seq":      zeroSeq,
		"cluster scope": cluster,
		"not sync":      notSync,
		"long strings":  long,
		"keepalive":     {Route: message.Route{Operation: message.OpKeepalive}},
		"binary strings": {Header: message.Header{ID: "\x00\xff\n"}, Route: message.Route{
			Resource: message.Resource{Type: "\x00", Name: "é"}}},
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			frame := mustEncode(t, Codec{}, m)
			if got := binary.BigEndian.Uint32(frame); int(got) != len(frame)-4 {
				t.Fatalf("length prefix %d, frame has %d bytes after it", got, len(frame)-4)
			}
			if frame[4] != Version {
				t.Fatalf("version byte %d", frame[4])
			}
			got, err := Codec{}.Decode(frame)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !equalMessage(got, m) {
				t.Fatalf("round trip changed the message:\n got %+v\nwant %+v", got.Header, m.Header)
			}
			if len(m.Content) == 0 && got.Content != nil {
				t.Errorf("empty Content decoded as %#v, want nil", got.Content)
			}
			if again := mustEncode(t, Codec{}, got); !bytes.Equal(again, frame) {
				t.Error("re-encoding the decoded message gives different bytes")
			}
		})
	}
}

func TestAppendFrameAppends(t *testing.T) {
	m := fullMessage()
	one := mustEncode(t, Codec{}, m)
	buf := []byte("prefix")
	buf, err := Codec{}.AppendFrame(buf, m)
	if err != nil {
		t.Fatal(err)
	}
	buf, err = Codec{}.AppendFrame(buf, m)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte("prefix"), one...), one...)
	if !bytes.Equal(buf, want) {
		t.Fatal("AppendFrame did not append two frames after the prefix")
	}
	if allocs := testing.AllocsPerRun(100, func() { buf, _ = Codec{}.AppendFrame(buf[:0], m) }); allocs != 0 {
		t.Errorf("AppendFrame into a big enough buffer: %v allocs, want 0", allocs)
	}
}

func TestDocExample(t *testing.T) {
	// The example frame in doc.go.
	m := message.Message{
		Header: message.Header{Sync: true, Timestamp: 1, Seq: 7},
		Route:  message.Route{Operation: message.OpQuery},
	}
	want := []byte{0, 0, 0, 0x15, 2, 1, 2, 7, 0, 0, 0, 0, 0, 0, 5, 'q', 'u', 'e', 'r', 'y', 0, 0, 0, 0, 0}
	if got := mustEncode(t, Codec{}, m); !bytes.Equal(got, want) {
		t.Errorf("Encode = % x\nwant     % x", got, want)
	}
	if got := mustEncode(t, Codec{}, message.Message{}); len(got) != 20 {
		t.Errorf("empty message frame is %d bytes, doc.go says 20", len(got))
	}
}

func TestDecodeAliasing(t *testing.T) {
	frame := mustEncode(t, Codec{}, fullMessage())
	m, err := Codec{}.Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	if cap(m.Content) != len(m.Content) {
		t.Errorf("Content has spare capacity %d into the frame", cap(m.Content)-len(m.Content))
	}
	for i := range frame {
		frame[i] = 'X'
	}
	// Content aliases the frame, as documented; strings do not.
	if !bytes.Equal(m.Content, bytes.Repeat([]byte("X"), len(m.Content))) {
		t.Error("Content does not alias the frame")
	}
	want := fullMessage()
	if m.Header != want.Header || m.Route != want.Route {
		t.Errorf("strings changed with the frame: %+v", m)
	}
}

func TestDecodeAllocs(t *testing.T) {
	frame := mustEncode(t, Codec{}, fullMessage())
	if allocs := testing.AllocsPerRun(100, func() { _, _ = Codec{}.Decode(frame) }); allocs > 1 {
		t.Errorf("Decode: %v allocs, want at most 1", allocs)
	}
	empty := mustEncode(t, Codec{}, message.Message{})
	if allocs := testing.AllocsPerRun(100, func() { _, _ = Codec{}.Decode(empty) }); allocs != 0 {
		t.Errorf("Decode of an empty message: %v allocs, want 0", allocs)
	}
}

func TestEncodeTooLarge(t *testing.T) {
	m := message.Message{Content: make([]byte, 1000)}
	frame := mustEncode(t, Codec{}, m)
	n := len(frame) - 4

	if _, err := (Codec{MaxFrameSize: n}).Encode(m); err != nil {
		t.Errorf("frame of exactly MaxFrameSize: %v", err)
	}
	dst := []byte("keep")
	out, err := Codec{MaxFrameSize: n - 1}.AppendFrame(dst, m)
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("AppendFrame over the limit: %v, want ErrFrameTooLarge", err)
	}
	if string(out) != "keep" {
		t.Errorf("AppendFrame changed dst on error: %q", out)
	}
	var sink bytes.Buffer
	if err := (Codec{MaxFrameSize: n - 1}).WriteFrame(&sink, m); !errors.Is(err, ErrFrameTooLarge) || sink.Len() != 0 {
		t.Errorf("WriteFrame over the limit: %v, wrote %d bytes", err, sink.Len())
	}
	// The default limit applies to a zero Codec.
	big := message.Message{Content: make([]byte, DefaultMaxFrameSize)}
	if _, err := (Codec{}).Encode(big); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("Encode of %d bytes content with the default limit: %v", len(big.Content), err)
	}
}

func TestEncodeBadResource(t *testing.T) {
	m := fullMessage()
	m.Route.Resource.Name = "a/b"
	_, err := Codec{}.Encode(m)
	if !errors.Is(err, message.ErrBadResource) {
		t.Errorf("Encode with a bad resource: %v, want message.ErrBadResource", err)
	}
}

func TestMaxFrame(t *testing.T) {
	for _, tt := range []struct {
		max  int
		want uint64
	}{
		{0, DefaultMaxFrameSize}, {-5, DefaultMaxFrameSize}, {100, 100}, {1 << 40, 1<<32 - 1},
	} {
		if got := (Codec{MaxFrameSize: tt.max}).maxFrame(); got != tt.want {
			t.Errorf("maxFrame(%d) = %d, want %d", tt.max, got, tt.want)
		}
	}
}

func TestVarintLen(t *testing.T) {
	for _, x := range []int64{0, 1, -1, 63, 64, -64, -65, 1 << 20, -1 << 63, 1<<63 - 1} {
		if got, want := varintLen(x), len(binary.AppendVarint(nil, x)); got != uint64(want) {
			t.Errorf("varintLen(%d) = %d, want %d", x, got, want)
		}
		ux := uint64(x)
		if got, want := uvarintLen(ux), len(binary.AppendUvarint(nil, ux)); got != uint64(want) {
			t.Errorf("uvarintLen(%d) = %d, want %d", ux, got, want)
		}
	}
}
