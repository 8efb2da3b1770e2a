package beehive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// supervise runs e's module until ctx is done, the module finishes, or it
// fails under StopProcess (its error then goes to failed). Restart modules
// are started again after a back-off that waits with ctx.
func (b *Bus) supervise(ctx context.Context, e *entry, failed chan<- error) {
	defer e.exited.Store(true)
	log := b.log.With("module", e.name, "group", e.group)
	var delay time.Duration
	for {
		began := time.Now()
		err := b.runOnce(ctx, e)
		ran := time.Since(began)
		switch {
		case ctx.Err() != nil:
			logStopped(log, err)
			return
		case err == nil:
			log.Info("module finished; not restarting", "ran", ran)
			return
		}
		e.setLastError(err)
		if e.policy.OnError == StopProcess {
			failed <- fmt.Errorf("module %q: %w", e.name, err)
			return
		}
		delay = nextDelay(delay, ran, e.policy)
		log.Warn("module failed; restarting", "err", err, "ran", ran, "backoff", delay)
		if !wait(ctx, delay) {
			log.Info("module stopped during back-off")
			return
		}
		e.restarts.Add(1)
	}
}

// runOnce calls e's Start, keeping e.running up to date.
func (b *Bus) runOnce(ctx context.Context, e *entry) error {
	e.running.Store(true)
	defer e.running.Store(false)
	return e.mod.Start(ctx)
}

// logStopped logs a module's return after the bus asked it to stop.
func logStopped(log *slog.Logger, err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		log.Info("module stopped")
		return
	}
	log.Warn("module stopped with error", "err", err)
}

// wait waits for d, or until ctx is done; it reports whether d passed.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
