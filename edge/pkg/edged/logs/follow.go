package logs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// follower reads a log file as it grows and across rotations.
type follower struct {
	path    string
	f       *os.File
	lr      *lineReader
	lw      *logWriter
	running func() bool
	poll    time.Duration
}

// run writes what the file has, then waits for more, until running
// reports false at the end of the file, ctx ends, or an error.
func (fl *follower) run(ctx context.Context) error {
	wk := &waker{timer: time.NewTimer(fl.poll), poll: fl.poll}
	defer wk.timer.Stop()
	// The folder is watched, not the file: the file's watch would stay
	// with the renamed file at a rotation. Without a watch (out of
	// inotify instances, say) the poll timer alone wakes the follower.
	if watch, err := fsnotify.NewWatcher(); err == nil {
		defer watch.Close()
		if watch.Add(filepath.Dir(fl.path)) == nil {
			wk.events, wk.errs = watch.Events, watch.Errors
		}
	}
	for {
		if err := readToEnd(ctx, fl.lr, fl.lw, false); err != nil {
			return err
		}
		if err := fl.lw.flush(true); err != nil {
			return err
		}
		rotated, err := fl.reopen(ctx)
		if err != nil {
			return err
		}
		if rotated {
			continue
		}
		if !fl.running() {
			// Whatever the container wrote before it stopped.
			return readToEnd(ctx, fl.lr, fl.lw, true)
		}
		if err := wk.wait(ctx); err != nil {
			return err
		}
	}
}

// reopen moves to the file path names when it is no longer the open one:
// the log was rotated (renamed) and the runtime opened a new file. It
// finishes the old file first. It reports whether it moved.
func (fl *follower) reopen(ctx context.Context) (bool, error) {
	cur, err := os.Stat(fl.path)
	if err != nil {
		// Renamed and not yet recreated, or removed with its
		// container: keep to the open file.
		return false, nil
	}
	open, err := fl.f.Stat()
	if err != nil {
		return false, fmt.Errorf("stat: %w", err)
	}
	if os.SameFile(cur, open) {
		return false, nil
	}
	next, err := os.Open(fl.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reopen: %w", err)
	}
	// What the runtime wrote to the old file before it moved on.
	if err := readToEnd(ctx, fl.lr, fl.lw, true); err != nil {
		next.Close()
		return false, err
	}
	fl.f.Close()
	fl.f = next
	fl.lr.reset(next)
	return true, nil
}

// waker wakes a follower when the log folder changes, and every poll
// anyway (to see the container stop, and in case the watch misses a
// change or there is none).
type waker struct {
	events <-chan fsnotify.Event
	errs   <-chan error
	timer  *time.Timer
	poll   time.Duration
}

// wait returns when the folder changes, the poll timer fires or ctx ends
// (with its error).
func (wk *waker) wait(ctx context.Context) error {
	wk.timer.Reset(wk.poll)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case _, ok := <-wk.events:
		if !ok {
			wk.events = nil
			return nil
		}
		wk.drain()
	case _, ok := <-wk.errs:
		// The watch lost events (its queue overflowed): read anyway.
		if !ok {
			wk.errs = nil
		}
	case <-wk.timer.C:
	}
	return nil
}

// drain takes the events already queued: one read serves them all.
func (wk *waker) drain() {
	for {
		select {
		case _, ok := <-wk.events:
			if !ok {
				wk.events = nil
				return
			}
		default:
			return
		}
	}
}
