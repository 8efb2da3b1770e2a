package logs

import (
	"bufio"
	"errors"
	"io"
)

// maxLineLen bounds the memory one line of the file takes. The runtime
// splits longer output into partial entries of 16 KiB, so only a damaged
// file has a longer line; it is cut here and the rest of it dropped.
const maxLineLen = 1 << 20

// lineReader reads a growing file line by line. At the end of the file it
// keeps an incomplete last line and goes on with it when the file grows.
type lineReader struct {
	br *bufio.Reader
	// acc is a line longer than br's buffer, or the incomplete end of
	// the file, as far as read.
	acc []byte
	// cut is set when acc has reached maxLineLen: the rest of the line is
	// dropped.
	cut bool
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 32<<10)}
}

// next returns the next complete line without its newline, valid until
// the next call. At the end of the file it returns io.EOF, and keeps what
// it read of an incomplete line for the next call (or rest).
func (l *lineReader) next() ([]byte, error) {
	for {
		frag, err := l.br.ReadSlice('\n')
		switch {
		case err == nil:
			frag = frag[:len(frag)-1]
			if len(l.acc) == 0 {
				return frag, nil
			}
			l.add(frag)
			line := l.acc
			l.acc, l.cut = l.acc[:0], false
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			l.add(frag)
		case err == io.EOF:
			l.add(frag)
			return nil, io.EOF
		default:
			return nil, err
		}
	}
}

// add appends a fragment of the current line, up to maxLineLen.
func (l *lineReader) add(frag []byte) {
	if l.cut {
		return
	}
	if room := maxLineLen - len(l.acc); len(frag) > room {
		frag, l.cut = frag[:room], true
	}
	l.acc = append(l.acc, frag...)
}

// rest returns the incomplete line kept at the end of the file and
// forgets it: the file will not grow any more.
func (l *lineReader) rest() []byte {
	line := l.acc
	l.acc, l.cut = nil, false
	return line
}

// reset starts reading r, keeping nothing of the old file.
func (l *lineReader) reset(r io.Reader) {
	l.br.Reset(r)
	l.acc, l.cut = l.acc[:0], false
}
