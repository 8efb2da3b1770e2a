package wire

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/tether-edge/tether/common/message"
)

// withPrefix returns body behind a length prefix that matches it.
func withPrefix(body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func TestDecodeTooLarge(t *testing.T) {
	// Only the prefix is given: the limit is judged before anything else.
	prefix := binary.BigEndian.AppendUint32(nil, 101)
	_, err := Codec{MaxFrameSize: 100}.Decode(prefix)
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("Decode of a prefix over the limit: %v, want ErrFrameTooLarge", err)
	}
	prefix = binary.BigEndian.AppendUint32(nil, DefaultMaxFrameSize+1)
	if _, err := (Codec{}).Decode(prefix); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("Decode over the default limit: %v, want ErrFrameTooLarge", err)
	}
	frame := mustEncode(t, Codec{}, fullMessage())
	if _, err := (Codec{MaxFrameSize: len(frame) - 5}).Decode(frame); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("Decode of a whole frame one byte over: %v, want ErrFrameTooLarge", err)
	}
	if _, err := (Codec{MaxFrameSize: len(frame) - 4}).Decode(frame); err != nil {
		t.Errorf("Decode of a frame at the limit: %v", err)
	}
}

func TestDecodeBadVersion(t *testing.T) {
	// 1 is the previous version, which differs only by lacking Header.Seq.
	for _, v := range []byte{0, 1, 3, 0xff} {
		frame := mustEncode(t, Codec{}, fullMessage())
		frame[4] = v
		_, err := Codec{}.Decode(frame)
		if !errors.Is(err, ErrUnsupportedVersion) {
			t.Errorf("version %d: %v, want ErrUnsupportedVersion", v, err)
		}
	}
}

// TestDecodeTruncated cuts a valid frame at every offset, two ways: keeping
// the original prefix (missing bytes), and rewriting the prefix to match
// (a body that ends early, which the field decoders must catch).
func TestDecodeTruncated(t *testing.T) {
	frame := mustEncode(t, Codec{}, fullMessage())
	for i := range len(frame) {
		if _, err := (Codec{}).Decode(frame[:i]); !errors.Is(err, ErrMalformed) {
			t.Errorf("frame cut at %d of %d: %v, want ErrMalformed", i, len(frame), err)
		}
	}
	for i := 4; i < len(frame); i++ {
		_, err := Codec{}.Decode(withPrefix(frame[4:i]))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("body cut at %d of %d, prefix fixed: %v, want ErrMalformed", i, len(frame), err)
		}
	}
}

func TestDecodeTrailing(t *testing.T) {
	frame := mustEncode(t, Codec{}, fullMessage())
	// Bytes past the prefix's length.
	if _, err := (Codec{}).Decode(append(frame, 0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("byte after the frame: %v, want ErrMalformed", err)
	}
	// Bytes inside the prefix's length but after Content.
	if _, err := (Codec{}).Decode(withPrefix(append(frame[4:], 'x'))); !errors.Is(err, ErrMalformed) ||
		!strings.Contains(err.Error(), "trailing") {
		t.Errorf("byte after the content: %v, want ErrMalformed about trailing bytes", err)
	}
}

func TestDecodeMalformedBodies(t *testing.T) {
	// empty is the body of the empty message after the version and flags:
	// timestamp 0, seq 0, eleven empty strings, empty content.
	empty := make([]byte, 14)
	const v = Version
	tests := map[string]struct {
		body []byte
		want string // in the error text
	}{
		"empty frame":          {nil, "empty frame"},
		"no flags":             {[]byte{v}, "flags"},
		"unknown flag":         {append([]byte{v, 2}, empty...), "unknown bits"},
		"no timestamp":         {[]byte{v, 0}, "header.timestamp"},
		"overlong varint":      {append([]byte{v, 0, 0x80, 0x00}, empty[1:]...), "header.timestamp at offset 6: varint is not minimally"},
		"overflowing varint":   {[]byte{v, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, "overflows"},
		"no seq":               {[]byte{v, 0, 0}, "header.seq at offset 7: frame ends"},
		"overlong seq":         {append([]byte{v, 0, 0, 0x81, 0x00}, empty[2:]...), "header.seq at offset 7: varint is not minimally"},
		"overflowing seq":      {[]byte{v, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, "header.seq at offset 7: varint overflows"},
		"string past the end":  {[]byte{v, 0, 0, 0, 5, 'a'}, "header.id at offset 8: length 5 exceeds the 1 bytes left"},
		"huge string length":   {[]byte{v, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "header.id"},
		"content past the end": {append(append([]byte{v, 0}, empty[:13]...), 2, 'a'), "content"},
		"overlong length":      {append([]byte{v, 0, 0, 0, 0x80, 0x00}, empty[3:]...), "header.id"},
		"missing content":      {append([]byte{v, 0}, empty[:13]...), "content"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Codec{}.Decode(withPrefix(tt.body))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode: %v, want ErrMalformed mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := (Codec{}).Decode(withPrefix(append([]byte{Version, 0}, empty...))); err != nil {
		t.Errorf("the well-formed empty body does not decode: %v", err)
	}
}

// frameWithResource encodes a message whose resource segments are given
// raw, bypassing AppendFrame's validation, as a broken peer might.
func frameWithResource(node, ns, typ, name string) []byte {
	body := []byte{Version, 0, 0, 0} // flags, timestamp, seq
	for _, s := range []string{"id", "", "", "src", "dst", "", "update", node, ns, typ, name} {
		body = appendString(body, s)
	}
	return withPrefix(append(body, 0))
}

func TestDecodeBadResource(t *testing.T) {
	if _, err := (Codec{}).Decode(frameWithResource("", "default", "pod", "web")); err != nil {
		t.Fatalf("control frame: %v", err)
	}
	for name, r := range map[string]message.Resource{
		"slash in name":     {Namespace: "default", Type: "pod", Name: "a/b"},
		"no type":           {Namespace: "default", Name: "web"},
		"namespace is null": {Namespace: "null", Type: "node"},
		"slash in node":     {Node: "a/", Type: "pod"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Codec{}.Decode(frameWithResource(r.Node, r.Namespace, r.Type, r.Name))
			if !errors.Is(err, ErrMalformed) || !errors.Is(err, message.ErrBadResource) {
				t.Errorf("Decode: %v, want ErrMalformed wrapping message.ErrBadResource", err)
			}
		})
	}
}
