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
	if _, err := io.ReadFull(r.br, r.prefix[:]); err != nil {
		if err == io.EOF {
			return message.Message{}, io.EOF
		}
		return message.Message{}, fmt.Errorf("wire: read length prefix: %w", err)
	}
	n, err := r.codec.checkLen(r.prefix[:])
	if err != nil {
		return message.Message{}, err
	}
	body, err := r.readBody(int(n))
	if err != nil {
		return message.Message{}, err
	}
	return decodeBody(body, headerLen)
}

// readBody reads the n bytes after a length prefix into a fresh buffer that
// grows with what arrives.
func (r *Reader) readBody(n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, growStep))
	for {
		got, err := io.ReadFull(r.br, buf[len(buf):cap(buf)])
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
