package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// FuzzDecode checks that Decode never panics, fails only with the package's
// sentinels, and that the format is canonical: whatever decodes re-encodes
// to the same bytes and decodes to the same message. The same bytes through
// Reader give the same result.
//
//	go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 20s ./common/wire
func FuzzDecode(f *testing.F) {
	golden := readGolden(f)
	f.Add(golden)
	f.Add(golden[:len(golden)-1])
	f.Add(append(append([]byte(nil), golden...), 0))
	badVersion := append([]byte(nil), golden...)
	badVersion[4] = 1 // the previous version
	f.Add(badVersion)
	f.Add(withPrefix(golden[4 : len(golden)-3]))
	f.Add(mustEncode(f, Codec{}, fullMessage().Response("edged", "response", nil)))
	f.Add(withPrefix(append([]byte{Version, 0}, make([]byte, 14)...)))
	maxSeq := fullMessage()
	maxSeq.Header.Seq = 1<<64 - 1
	f.Add(mustEncode(f, Codec{}, maxSeq))
	f.Add(frameWithResource("", "null", "node", "x"))
	f.Add(binary.BigEndian.AppendUint32(nil, 1<<31))
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0})

	codec := Codec{MaxFrameSize: 1 << 20}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := codec.Decode(frame)
		r := codec.NewReader(bytes.NewReader(frame))
		rm, rerr := r.Next()
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrFrameTooLarge) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("Decode error %v wraps no sentinel", err)
			}
			// A stream may hold more after a frame; a single frame may not.
			if rerr == nil && uint64(len(frame)) <= 4+uint64(binary.BigEndian.Uint32(frame)) {
				t.Fatalf("Decode failed (%v) but Reader decoded %+v", err, rm)
			}
			return
		}
		if rerr != nil || !equalMessage(m, rm) {
			t.Fatalf("Decode gave %+v, Reader gave %+v, %v", m, rm, rerr)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("Reader after the only frame: %v, want io.EOF", err)
		}
		again, err := codec.Encode(m)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v\n%+v", err, m)
		}
		if !bytes.Equal(again, frame) {
			t.Fatalf("not canonical: decode then encode changed the bytes\n in % x\nout % x", frame, again)
		}
		m2, err := codec.Decode(again)
		if err != nil || !equalMessage(m2, m) {
			t.Fatalf("re-encoded frame decodes to %+v, %v; want %+v", m2, err, m)
		}
	})
}
