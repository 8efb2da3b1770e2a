package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/tether-edge/tether/common/message"
)

// Decode decodes one whole frame, length prefix included. The frame must hold
// exactly the N bytes its prefix announces: missing or trailing bytes are
// ErrMalformed. N above MaxFrameSize is ErrFrameTooLarge, judged from the
// prefix alone.
//
// The returned Content aliases frame (nil when empty); the strings share one
// new allocation and alias nothing.
func (c Codec) Decode(frame []byte) (message.Message, error) {
	if len(frame) < headerLen {
		return message.Message{}, fmt.Errorf("%w: %d bytes, shorter than the %d-byte length prefix", ErrMalformed, len(frame), headerLen)
	}
	n, err := c.checkLen(frame[:headerLen])
	if err != nil {
		return message.Message{}, err
	}
	if got := uint64(len(frame) - headerLen); got != n {
		return message.Message{}, fmt.Errorf("%w: length prefix says %d bytes follow, frame has %d", ErrMalformed, n, got)
	}
	return decodeBody(frame[headerLen:], headerLen)
}

// checkLen reads N from a length prefix and checks it against the limit.
func (c Codec) checkLen(prefix []byte) (uint64, error) {
	n := uint64(binary.BigEndian.Uint32(prefix))
	if limit := c.maxFrame(); n > limit {
		return 0, fmt.Errorf("%w: length prefix says %d bytes, the limit is %d", ErrFrameTooLarge, n, limit)
	}
	return n, nil
}

// decodeBody decodes the N bytes after the length prefix: version, flags,
// timestamp, seq, strings, content. base is body's offset in the frame, for
// errors.
func decodeBody(body []byte, base int) (message.Message, error) {
	d := decoder{buf: body, base: base}
	if len(body) == 0 {
		return message.Message{}, d.errorf("version", "empty frame")
	}
	if body[0] != Version {
		return message.Message{}, fmt.Errorf("%w: version %d at offset %d, want %d", ErrUnsupportedVersion, body[0], base, Version)
	}
	d.pos = 1
	var m message.Message
	flags, err := d.byte("flags")
	if err != nil {
		return message.Message{}, err
	}
	if flags&^flagSync != 0 {
		return message.Message{}, d.errorfAt(d.pos-1, "flags", "unknown bits %#02x", flags&^flagSync)
	}
	m.Header.Sync = flags&flagSync != 0
	if m.Header.Timestamp, err = d.varint("header.timestamp"); err != nil {
		return message.Message{}, err
	}
	if m.Header.Seq, err = d.uvarint("header.seq"); err != nil {
		return message.Message{}, err
	}
	if err := d.strings(&m); err != nil {
		return message.Message{}, err
	}
	if m.Content, err = d.content(); err != nil {
		return message.Message{}, err
	}
	if err := m.Route.Resource.Validate(); err != nil {
		return message.Message{}, fmt.Errorf("%w: route.resource: %w", ErrMalformed, err)
	}
	return m, nil
}

// decoder walks a body. Offsets in errors are from the start of the frame.
type decoder struct {
	buf  []byte
	pos  int
	base int
}

func (d *decoder) errorf(field, format string, args ...any) error {
	return d.errorfAt(d.pos, field, format, args...)
}

func (d *decoder) errorfAt(pos int, field, format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d: %s", ErrMalformed, field, d.base+pos, fmt.Sprintf(format, args...))
}

func (d *decoder) byte(field string) (byte, error) {
	if d.pos >= len(d.buf) {
		return 0, d.errorf(field, "frame ends")
	}
	b := d.buf[d.pos]
	d.pos++
	return b, nil
}

// uvarint reads a minimally encoded uvarint.
func (d *decoder) uvarint(field string) (uint64, error) {
	if d.pos < len(d.buf) && d.buf[d.pos] < 0x80 {
		// The common case: one byte.
		d.pos++
		return uint64(d.buf[d.pos-1]), nil
	}
	x, n := binary.Uvarint(d.buf[d.pos:])
	switch {
	case n == 0:
		return 0, d.errorf(field, "frame ends inside a varint")
	case n < 0:
		return 0, d.errorf(field, "varint overflows 64 bits")
	case n > 1 && d.buf[d.pos+n-1] == 0:
		return 0, d.errorf(field, "varint is not minimally encoded")
	}
	d.pos += n
	return x, nil
}

// varint reads a minimally encoded zig-zag varint.
func (d *decoder) varint(field string) (int64, error) {
	ux, err := d.uvarint(field)
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, err
}

// span reads a uvarint length and returns the bounds of that many bytes.
func (d *decoder) span(field string) (start, end int, err error) {
	at := d.pos
	n, err := d.uvarint(field)
	if err != nil {
		return 0, 0, err
	}
	if rest := uint64(len(d.buf) - d.pos); n > rest {
		return 0, 0, d.errorfAt(at, field, "length %d exceeds the %d bytes left", n, rest)
	}
	start = d.pos
	d.pos += int(n)
	return start, d.pos, nil
}

// strings reads the string fields into m. It finds their bounds first, then
// copies the region that holds them all into one string and slices it.
func (d *decoder) strings(m *message.Message) error {
	fields := stringFields(m)
	var ends [numStrings][2]int
	first := d.pos
	for i := range ends {
		start, end, err := d.span(fieldNames[i])
		if err != nil {
			return err
		}
		ends[i] = [2]int{start - first, end - first}
	}
	var all string
	if d.pos-first > numStrings {
		// Not every string is empty (each empty one is a single length
		// byte): one copy for all, length bytes included.
		all = string(d.buf[first:d.pos])
	}
	for i, f := range fields {
		if ends[i][0] != ends[i][1] {
			*f.p = all[ends[i][0]:ends[i][1]]
		}
	}
	return nil
}

// content reads Content, which must end the frame. It aliases the body.
func (d *decoder) content() ([]byte, error) {
	start, end, err := d.span("content")
	if err != nil {
		return nil, err
	}
	if end != len(d.buf) {
		return nil, d.errorfAt(end, "content", "%d trailing bytes after the content", len(d.buf)-end)
	}
	if start == end {
		return nil, nil
	}
	return d.buf[start:end:end], nil
}
