package beehive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Run starts every registered module's Start in a goroutine of its own and
// supervises them (see Policy) until ctx is done; then it cancels the
// modules' context and waits up to Options.ShutdownTimeout for all of them
// to return. It returns nil after a clean stop.
//
// If a StopProcess module fails, Run cancels the others, joins them and
// returns that module's error, wrapped with its name. If modules are still
// running after ShutdownTimeout, the error wraps ErrShutdownTimeout and
// names them; their goroutines are left to finish on their own.
//
// When Run returns the bus is closed: Send, Receive and the rest return
// ErrClosed. Run may be called once.
func (b *Bus) Run(ctx context.Context) error {
	rt, err := b.start()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	defer b.close()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// failed receives the error of each StopProcess module that failed; it
	// has room for all of them, so a supervisor never blocks on it.
	failed := make(chan error, len(rt.order))
	var wg sync.WaitGroup
	for _, e := range rt.order {
		wg.Go(func() { b.supervise(runCtx, e, failed) })
	}
	b.log.Info("bus running", "modules", len(rt.order))

	var cause error
	select {
	case <-ctx.Done():
		b.log.Info("bus stopping", "reason", context.Cause(ctx))
	case cause = <-failed:
		b.log.Error("bus stopping: module failed", "err", cause)
	}
	cancel()
	if err := b.join(&wg, rt.order); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// start marks the bus started and returns the routing table to run.
func (b *Bus) start() (*routes, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return nil, ErrStarted
	}
	b.started = true
	return b.routes.Load(), nil
}

// close marks the bus closed and wakes everything waiting on it.
func (b *Bus) close() {
	b.closed.Store(true)
	close(b.done)
}

// join waits up to the shutdown timeout for every supervisor to return.
// The waiting goroutine it starts ends when the last supervisor does.
func (b *Bus) join(wg *sync.WaitGroup, order []*entry) error {
	joined := make(chan struct{})
	go func() {
		wg.Wait()
		close(joined)
	}()
	t := time.NewTimer(b.shutdownTimeout)
	defer t.Stop()
	select {
	case <-joined:
		b.log.Info("bus stopped")
		return nil
	case <-t.C:
	}
	var stuck []string
	for _, e := range order {
		if !e.exited.Load() {
			stuck = append(stuck, e.name)
		}
	}
	b.log.Error("bus stopped with modules still running", "modules", stuck, "waited", b.shutdownTimeout)
	return fmt.Errorf("%w after %v: %s", ErrShutdownTimeout, b.shutdownTimeout, strings.Join(stuck, ", "))
}
