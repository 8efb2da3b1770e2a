package logs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"
)

// errLimit ends a read when LimitBytes have been written.
var errLimit = errors.New("limit reached")

// logWriter turns parsed entries into the output of a logs request.
type logWriter struct {
	out        *bufio.Writer
	w          io.Writer
	since      time.Time
	timestamps bool
	// limited is set by LimitBytes; left is what may still be written.
	limited bool
	left    int64
	// wrote is set when output was written since the last flush.
	wrote bool
	// streams is the state of each stream's current line.
	streams [numStreams]lineState
}

// lineState is where a stream is in a line made of entries.
type lineState struct {
	// inLine is set after a partial entry: the next entry of the stream
	// continues its line.
	inLine bool
	// skip drops the line: its first entry is older than Since.
	skip bool
}

func newLogWriter(w io.Writer, opts Options) *logWriter {
	lw := &logWriter{
		out:        bufio.NewWriterSize(w, 32<<10),
		w:          w,
		since:      opts.Since,
		timestamps: opts.Timestamps,
	}
	if opts.LimitBytes != nil {
		lw.limited, lw.left = true, max(0, *opts.LimitBytes)
	}
	return lw
}

// line writes the output of one line of the file; a line that does not
// parse is skipped. It returns errLimit once LimitBytes are written, or
// the writer's error.
func (lw *logWriter) line(b []byte) error {
	e, ok := parseEntry(b)
	if !ok {
		return nil
	}
	st := &lw.streams[e.stream]
	first := !st.inLine
	if first {
		st.skip = !lw.since.IsZero() && e.time.Before(lw.since)
	}
	st.inLine = e.partial
	if st.skip {
		return nil
	}
	if first && lw.timestamps {
		if err := lw.put(e.timestamp); err != nil {
			return err
		}
		if err := lw.put([]byte{' '}); err != nil {
			return err
		}
	}
	if err := lw.put(e.content); err != nil {
		return err
	}
	if !e.partial {
		return lw.put([]byte{'\n'})
	}
	return nil
}

// put writes b, or what LimitBytes leaves of it.
func (lw *logWriter) put(b []byte) error {
	lw.wrote = lw.wrote || len(b) > 0
	if lw.limited && int64(len(b)) >= lw.left {
		b = b[:lw.left]
		lw.left = 0
		if _, err := lw.out.Write(b); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return errLimit
	}
	lw.left -= int64(len(b))
	if _, err := lw.out.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// done reports whether LimitBytes have been written.
func (lw *logWriter) done() bool { return lw.limited && lw.left == 0 }

// flush writes out what is buffered; with push, and when there was
// output, it also flushes w if w can be (an http.ResponseWriter), so a
// follower sees lines promptly.
func (lw *logWriter) flush(push bool) error {
	if err := lw.out.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if f, ok := lw.w.(interface{ Flush() }); ok && push && lw.wrote {
		f.Flush()
	}
	lw.wrote = false
	return nil
}
