package wire

import (
	"fmt"
	"io"

	"github.com/tether-edge/tether/common/message"
)

// keepBufSize is the largest buffer a Writer keeps between frames; a larger
// one, grown for a big frame, is dropped so it does not stay pinned.
const keepBufSize = 256 << 10

// Writer writes frames to a stream, reusing one buffer, so writing a frame
// does not allocate once the buffer has grown to the usual frame size.
type Writer struct {
	codec Codec
	w     io.Writer
	buf   []byte
}

// NewWriter returns a Writer of frames to w. Each frame goes to w in one
// Write call.
func (c Codec) NewWriter(w io.Writer) *Writer {
	return &Writer{codec: c, w: w}
}

// Write encodes m and writes its frame. Errors are those of AppendFrame, or
// the stream's wrapped.
func (w *Writer) Write(m message.Message) error {
	frame, err := w.codec.AppendFrame(w.buf[:0], m)
	if err != nil {
		return err
	}
	if cap(frame) <= keepBufSize {
		w.buf = frame
	} else {
		w.buf = nil
	}
	if _, err := w.w.Write(frame); err != nil {
		return fmt.Errorf("wire: write frame: %w", err)
	}
	return nil
}
