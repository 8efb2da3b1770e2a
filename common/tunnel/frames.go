package tunnel

import (
	"fmt"
	"io"
	"sync"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/wire"
)

// frameBufSize is the capacity of a new batch buffer: a batch of small
// messages fits without growing.
const frameBufSize = 16 << 10

// keepFrameBufSize is the largest batch buffer put back for reuse; one grown
// for big messages is dropped so it does not stay pinned.
const keepFrameBufSize = 256 << 10

// frameBufs holds batch buffers between writes, so that an idle conn holds
// none: 5,000 idle nodes must not each pin a buffer.
var frameBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, frameBufSize)
	return &b
}}

// writeFrames encodes msgs in order into a pooled buffer and passes the
// frames to send in chunks of at most max bytes, cut between frames (a
// frame longer than max goes alone). A message that does not encode ends
// it before the chunk holding that message is sent. It returns the bytes
// of the chunks sent, which, when the error is nil, are all msgs' frames.
func writeFrames(codec wire.Codec, msgs []message.Message, max int, send func([]byte) error) (int, error) {
	bp := frameBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= keepFrameBufSize {
			*bp = buf[:0]
			frameBufs.Put(bp)
		}
	}()
	sent := 0
	for i, m := range msgs {
		start := len(buf)
		var err error
		if buf, err = codec.AppendFrame(buf, m); err != nil {
			return sent, fmt.Errorf("tunnel: encode message %d of %d: %w", i+1, len(msgs), err)
		}
		if len(buf) > max && start > 0 {
			if err := send(buf[:start]); err != nil {
				return sent, err
			}
			sent += start
			buf = buf[:copy(buf, buf[start:])]
		}
	}
	if len(buf) == 0 {
		return sent, nil
	}
	if err := send(buf); err != nil {
		return sent, err
	}
	return sent + len(buf), nil
}

// wrote tells meter (if any) about a Write of msgs that sent n bytes and
// ended with err, and returns err.
func wrote(meter Meter, msgs []message.Message, n int, err error) error {
	if meter != nil && err == nil && len(msgs) > 0 {
		meter.Wrote(len(msgs), n)
	}
	return err
}

// countingReader counts the bytes read through it: a conn with a Meter
// reads its frames through one, to learn each frame's size as it is read.
type countingReader struct {
	r io.Reader
	n int // bytes read since the last take
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// source returns what to read r through: r itself without a meter, else c
// counting r.
func (c *countingReader) source(r io.Reader, meter Meter) io.Reader {
	if meter == nil {
		return r
	}
	c.r = r
	return c
}

// take returns the bytes read since the last take.
func (c *countingReader) take() int {
	n := c.n
	c.n = 0
	return n
}
