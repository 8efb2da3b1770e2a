package wire

import (
	"errors"
	"math"
)

// Version is the frame format version this package writes and reads.
const Version = 2

// DefaultMaxFrameSize is the frame size limit of a zero Codec.
const DefaultMaxFrameSize = 32 << 20

// headerLen is the size of the length prefix.
const headerLen = 4

// The errors that encoding and decoding wrap; test with errors.Is.
var (
	// ErrFrameTooLarge: the frame's length N exceeds the Codec's MaxFrameSize.
	ErrFrameTooLarge = errors.New("wire: frame too large")
	// ErrUnsupportedVersion: the version byte is not Version.
	ErrUnsupportedVersion = errors.New("wire: unsupported frame version")
	// ErrMalformed: the frame does not decode (truncated, trailing bytes, a
	// length past the end, a non-minimal varint, unknown flags, a bad
	// resource).
	ErrMalformed = errors.New("wire: malformed frame")
)

// Codec encodes and decodes frames. The zero value is ready to use.
type Codec struct {
	// MaxFrameSize limits N, the number of bytes after the 4-byte length
	// prefix, on both the encoding and the decoding side. Zero or negative
	// means DefaultMaxFrameSize; values above math.MaxUint32 act as
	// math.MaxUint32, the most the prefix can say.
	MaxFrameSize int
}

// FrameLimit returns the effective limit on N, the bytes after a frame's
// length prefix: MaxFrameSize with its default and cap applied. A whole
// frame is at most 4+FrameLimit() bytes.
func (c Codec) FrameLimit() int {
	return int(c.maxFrame())
}

// maxFrame returns the effective limit on N.
func (c Codec) maxFrame() uint64 {
	switch {
	case c.MaxFrameSize <= 0:
		return DefaultMaxFrameSize
	case uint64(c.MaxFrameSize) > math.MaxUint32:
		return math.MaxUint32
	default:
		return uint64(c.MaxFrameSize)
	}
}
