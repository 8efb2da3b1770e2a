package wire

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"slices"

	"github.com/tether-edge/tether/common/message"
)

// flagSync is bit 0 of the flags byte.
const flagSync = 1 << 0

// AppendFrame appends m's frame to dst and returns the extended slice. It
// fails, leaving dst as it was, if m's resource does not validate (the error
// wraps message.ErrBadResource) or the frame would exceed MaxFrameSize (the
// error wraps ErrFrameTooLarge). Appending to a reused buffer
// (AppendFrame(buf[:0], m)) does not allocate once the buffer is big enough.
func (c Codec) AppendFrame(dst []byte, m message.Message) ([]byte, error) {
	if err := m.Route.Resource.Validate(); err != nil {
		return dst, fmt.Errorf("wire: encode route.resource: %w", err)
	}
	fields := stringFields(&m)
	n := bodyLen(&m, &fields)
	if limit := c.maxFrame(); n > limit {
		return dst, fmt.Errorf("%w: encoded length %d exceeds the limit %d", ErrFrameTooLarge, n, limit)
	}
	dst = slices.Grow(dst, headerLen+int(n))
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, Version)
	var flags byte
	if m.Header.Sync {
		flags |= flagSync
	}
	dst = append(dst, flags)
	dst = binary.AppendVarint(dst, m.Header.Timestamp)
	dst = binary.AppendUvarint(dst, m.Header.Seq)
	for _, f := range fields {
		dst = appendString(dst, *f.p)
	}
	dst = binary.AppendUvarint(dst, uint64(len(m.Content)))
	return append(dst, m.Content...), nil
}

// Encode returns m's frame in a new slice; see AppendFrame.
func (c Codec) Encode(m message.Message) ([]byte, error) {
	return c.AppendFrame(nil, m)
}

// WriteFrame writes m's frame to w in one Write call. It allocates the
// frame each time; a Writer reuses one buffer.
func (c Codec) WriteFrame(w io.Writer, m message.Message) error {
	frame, err := c.Encode(m)
	if err != nil {
		return err
	}
	if _, err := w.Write(frame); err != nil {
		return fmt.Errorf("wire: write frame: %w", err)
	}
	return nil
}

// bodyLen returns N, the encoded length of m (whose string fields are
// fields) after the length prefix.
func bodyLen(m *message.Message, fields *[numStrings]stringField) uint64 {
	n := 2 + varintLen(m.Header.Timestamp) + uvarintLen(m.Header.Seq) // version, flags, timestamp, seq
	for _, f := range fields {
		s := *f.p
		n += uvarintLen(uint64(len(s))) + uint64(len(s))
	}
	return n + uvarintLen(uint64(len(m.Content))) + uint64(len(m.Content))
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// uvarintLen returns the size of binary.AppendUvarint(nil, x).
func uvarintLen(x uint64) uint64 {
	return uint64(bits.Len64(x|1)+6) / 7
}

// varintLen returns the size of binary.AppendVarint(nil, x).
func varintLen(x int64) uint64 {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return uvarintLen(ux)
}
