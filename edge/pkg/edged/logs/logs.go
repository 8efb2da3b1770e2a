package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Options are what a logs request asks for.
type Options struct {
	// Follow keeps writing as the file grows, until ctx ends or the
	// container is no longer running and the file is read to its end.
	Follow bool
	// TailLines, when set, starts at the last TailLines lines.
	TailLines *int64
	// LimitBytes, when set, stops after that many bytes of output.
	LimitBytes *int64
	// Since, when not zero, skips lines logged before it.
	Since time.Time
	// Timestamps prefixes each line with its RFC 3339 timestamp.
	Timestamps bool
}

// Read writes the log of the container whose CRI log file is path to w.
// With Follow it waits for more (across a rotation of path) and returns
// when ctx ends, or when running reports false and the file is read out.
//
// See the package documentation for the details; in short: a missing file
// is an error wrapping fs.ErrNotExist; reaching LimitBytes, the end of the
// file (without Follow), the end of a followed container, and the end of
// ctx all return nil; a failed write to w returns its error.
func Read(ctx context.Context, path string, opts Options, w io.Writer, running func() bool) error {
	return read(ctx, path, opts, w, running, defaultTuning)
}

// tuning is what tests make smaller.
type tuning struct {
	// poll is how often a follower looks at the file without being woken.
	poll time.Duration
	// block is the size of the backward reads that find the tail.
	block int
}

var defaultTuning = tuning{poll: time.Second, block: tailBlockSize}

func read(ctx context.Context, path string, opts Options, w io.Writer, running func() bool, tun tuning) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("container log: %w", err)
	}
	// f may be replaced by the file path names after a rotation.
	defer func() { f.Close() }()
	if err := seekTail(f, opts.TailLines, tun.block); err != nil {
		return fmt.Errorf("container log %s: tail: %w", path, err)
	}
	lw := newLogWriter(w, opts)
	if lw.done() {
		return nil
	}
	lr := newLineReader(f)
	if !opts.Follow {
		err := readToEnd(ctx, lr, lw, true)
		return finish(path, lw, err, false)
	}
	if running == nil {
		running = func() bool { return true }
	}
	fl := &follower{path: path, f: f, lr: lr, lw: lw, running: running, poll: tun.poll}
	err = fl.run(ctx)
	f = fl.f
	return finish(path, lw, err, true)
}

// seekTail moves f to where its last *tail lines begin; nil or a
// negative count leaves it at the start.
func seekTail(f *os.File, tail *int64, block int) error {
	if tail == nil || *tail < 0 {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	off, err := tailStart(f, fi.Size(), *tail, block)
	if err != nil {
		return err
	}
	_, err = f.Seek(off, io.SeekStart)
	return err
}

// readToEnd writes the complete lines up to the end of the file; with
// last it also writes an incomplete last line, as the file is done. It
// returns nil at the end of the file.
func readToEnd(ctx context.Context, lr *lineReader, lw *logWriter, last bool) error {
	for n := 0; ; n++ {
		if n%1024 == 1023 && ctx.Err() != nil {
			return ctx.Err()
		}
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if err := lw.line(line); err != nil {
			return err
		}
	}
	if !last {
		return nil
	}
	if rest := lr.rest(); len(rest) > 0 {
		return lw.line(rest)
	}
	return nil
}

// finish flushes the output and turns how the read ended into Read's
// result.
func finish(path string, lw *logWriter, err error, follow bool) error {
	switch {
	case errors.Is(err, errLimit), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		err = nil
	case err != nil:
		return fmt.Errorf("container log %s: %w", path, err)
	}
	if ferr := lw.flush(follow); ferr != nil {
		return fmt.Errorf("container log %s: %w", path, ferr)
	}
	return nil
}
