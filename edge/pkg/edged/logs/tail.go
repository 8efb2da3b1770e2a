package logs

import (
	"bytes"
	"fmt"
	"io"
)

// tailBlockSize is how much of the file the backward scan reads at a time.
const tailBlockSize = 32 << 10

// maxHeaderLen is how much of a line's start the backward scan keeps to
// find its tag: a CRI timestamp, stream and tag take about 45 bytes.
const maxHeaderLen = 256

// tailStart returns the offset in r (size bytes long) at which the last n
// lines begin. A line is a run of entries of one stream ending in a full
// (F) entry, so the partial entries before it are counted with it; entries
// that do not parse are not counted. Entries after the last full one (a
// line still being written) come after the offset too. With n <= 0 it
// returns size.
//
// It reads r backwards, block bytes at a time, and keeps only the first
// maxHeaderLen bytes of the line it is in, so a large file or a long line
// does not take memory.
func tailStart(r io.ReaderAt, size, n int64, block int) (int64, error) {
	if n <= 0 {
		return size, nil
	}
	buf := make([]byte, block)
	var head lineHead
	var full int64
	// lineEnd is the offset of the newline ending the line being
	// assembled in head, or size for a last line without one.
	lineEnd := size
	for end := size; end > 0; {
		start := max(0, end-int64(block))
		b := buf[:end-start]
		if _, err := r.ReadAt(b, start); err != nil && err != io.EOF {
			return 0, fmt.Errorf("read back from %d: %w", start, err)
		}
		for {
			i := bytes.LastIndexByte(b, '\n')
			if i < 0 {
				head.prepend(b)
				break
			}
			head.prepend(b[i+1:])
			if head.full() {
				if full++; full > n {
					return lineEnd + 1, nil
				}
			}
			head.reset()
			lineEnd = start + int64(i)
			b = b[:i]
		}
		end = start
	}
	if head.full() {
		if full++; full > n {
			return lineEnd + 1, nil
		}
	}
	return 0, nil
}

// lineHead holds the first maxHeaderLen bytes of a line read backwards.
type lineHead struct {
	buf []byte
	tmp []byte // scratch for prepend
}

// prepend adds b, which comes just before what h holds, and drops what
// goes past maxHeaderLen.
func (h *lineHead) prepend(b []byte) {
	if len(b) == 0 {
		return
	}
	n := min(len(b), maxHeaderLen)
	keep := min(len(h.buf), maxHeaderLen-n)
	h.tmp = append(h.tmp[:0], b[:n]...)
	h.tmp = append(h.tmp, h.buf[:keep]...)
	h.buf, h.tmp = h.tmp, h.buf
}

func (h *lineHead) reset() { h.buf = h.buf[:0] }

// full reports whether the line starts like a full (F) entry.
func (h *lineHead) full() bool {
	e, ok := parseEntry(h.buf)
	return ok && !e.partial
}
