package tunnel

import (
	"fmt"
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
// it before the chunk holding that message is sent.
func writeFrames(codec wire.Codec, msgs []message.Message, max int, send func([]byte) error) error {
	bp := frameBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= keepFrameBufSize {
			*bp = buf[:0]
			frameBufs.Put(bp)
		}
	}()
	for i, m := range msgs {
		start := len(buf)
		var err error
		if buf, err = codec.AppendFrame(buf, m); err != nil {
			return fmt.Errorf("tunnel: encode message %d of %d: %w", i+1, len(msgs), err)
		}
		if len(buf) > max && start > 0 {
			if err := send(buf[:start]); err != nil {
				return err
			}
			buf = buf[:copy(buf, buf[start:])]
		}
	}
	if len(buf) == 0 {
		return nil
	}
	return send(buf)
}
