package pleg

import (
	"context"
	"errors"
	"time"
)

// watchRuntime owns the runtime's event stream: it opens it, turns each
// event into a relist request, and on failure falls back to relisting and
// retries with back-off. It returns when ctx ends or the runtime says it
// cannot stream.
func (p *PLEG) watchRuntime(ctx context.Context) {
	backoff := streamBackoffMin
	for {
		opened := time.Now()
		ch, err := p.rt.Events(ctx)
		switch {
		case errors.Is(err, ErrEventsUnsupported):
			p.log.Info("pleg: runtime does not stream container events; relisting only",
				"relistPeriod", p.relistPeriod)
			return
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			p.log.Warn("pleg: open container event stream failed", "err", err, "retryIn", backoff)
		default:
			p.streamOpened()
			p.consume(ctx, ch)
			if ctx.Err() != nil {
				return
			}
			p.streamBroke()
			if time.Since(opened) >= streamBackoffMax {
				backoff = streamBackoffMin
			}
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, streamBackoffMax)
	}
}

func (p *PLEG) streamOpened() {
	p.mu.Lock()
	p.counters.streamOpens++
	p.mu.Unlock()
	p.setMode(ModeEvented, "container event stream open")
	// Catch what happened before the stream opened.
	p.requestRelist()
}

func (p *PLEG) streamBroke() {
	p.mu.Lock()
	p.counters.streamBreaks++
	p.mu.Unlock()
	p.setMode(ModeRelisting, "container event stream ended")
	// Events may have been lost: relist now.
	p.requestRelist()
}

// consume requests a relist for every event until the stream closes.
// Bursts coalesce in requestRelist. Once ctx ends it discards events until
// the runtime closes the channel, which it must do when ctx ends: that is
// the join of the runtime's stream goroutine.
func (p *PLEG) consume(ctx context.Context, ch <-chan ContainerEvent) {
	for {
		select {
		case <-ctx.Done():
			for range ch {
			}
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			p.log.Debug("pleg: container event", "container", ev.ContainerID, "pod", ev.PodUID, "type", ev.Type)
			p.requestRelist()
		}
	}
}
