package wire

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/tether-edge/tether/common/message"
)

// readBufSize is Reader's read-ahead buffer: many small frames per read
// call on a stream.
const readBufSize = 16 << 10

// growStep is how much of a frame Reader allocates before its bytes arrive.
// A larger frame's buffer doubles as it fills, so a peer that announces
// MaxFrameSize and sends little costs little memory.
const growStep = 64 << 10

// Reader reads frames from a stream (a QUIC stream, a TCP connection). It
// reads ahead, so nothing else may read the stream once it is handed over.
//
// Every error is sticky: after one, Next returns it again, as the stream can
// no longer be trusted to be at a frame boundary.
type Reader struct {
	codec  Codec
	br     *bufio.Reader
	err    error           // sticky; see Next
	prefix [headerLen]byte // here, not on next's stack, where it would escape
}

// NewReader returns a Reader of the frames on r.
func (c Codec) NewReader(r io.Reader) *Reader {
	return &Reader{codec: c, br: bufio.NewReaderSize(r, readBufSize)}
}

// Next reads and decodes the next frame. It returns io.EOF, unwrapped, when
// the stream ends at a frame boundary, and an error wrapping
// io.ErrUnexpectedEOF when it ends inside a frame (test with errors.Is). A
// frame whose prefix exceeds MaxFrameSize is rejected before any of its body
// is read or allocated (ErrFrameTooLarge).
//
// The message's Content and strings live in memory allocated for this frame
// alone.
func (r *Reader) Next() (message.Message, error) {
	if r.err != nil {
		return message.Message{}, r.err
	}
	m, err := r.next()
	if err != nil {
		r.err = err
	}
	return m, err
}

func (r *Reader) next() (message.Message, error) {
	return r.codec.readFrame(r.br, &r.prefix)
}

// ReadFrame reads and decodes one frame from r, reading no further than its
// last byte, so that what follows (the next frame, or anything else) stays
// in r. It suits frames that come in bounded containers, such as a batch of
// frames in one WebSocket message; on a stream, a Reader makes fewer read
// calls. Results and errors are those of Reader.Next, without stickiness:
// io.EOF, unwrapped, when r ends before the frame's first byte, an error
// wrapping io.ErrUnexpectedEOF when it ends inside the frame, and
// ErrFrameTooLarge, judged from the prefix before the body is read or
// allocated.
//
// The message's Content and strings live in memory allocated for this frame
// alone.
func (c Codec) ReadFrame(r io.Reader) (message.Message, error) {
	var prefix [headerLen]byte
	return c.readFrame(r, &prefix)
}

// readFrame reads one frame from r, using prefix for its length prefix.
func (c Codec) readFrame(r io.Reader, prefix *[headerLen]byte) (message.Message, error) {
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		if err == io.EOF {
			return message.Message{}, io.EOF
		}
		return message.Message{}, fmt.Errorf("wire: read length prefix: %w", err)
	}
	n, err := c.checkLen(prefix[:])
	if err != nil {
		return message.Message{}, err
	}
	body, err := readBody(r, int(n))
	if err != nil {
		return message.Message{}, err
	}
	return decodeBody(body, headerLen)
}

// readBody reads the n bytes after a length prefix from r into a fresh
// buffer that grows with what arrives.
func readBody(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, growStep))
	for {
		got, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+got]
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("wire: read frame body: got %d of %d bytes: %w", len(buf), n, err)
		}
		if len(buf) == n {
			return buf, nil
		}
		next := make([]byte, len(buf), min(n, 2*cap(buf)))
		copy(next, buf)
		buf = next
	}
}
