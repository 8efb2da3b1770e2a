package pleg

import (
	"context"
	"errors"
	"time"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
)

// watchRuntime owns the runtime's event stream: it opens it, turns each
// event into a relist request, and on failure falls back to relisting and
// retries with back-off. It returns when ctx ends or the runtime says it
// cannot stream.
func (p *PLEG) watchRuntime(ctx context.Context) {
	backoff := streamBackoffMin
	for {
		opened := time.Now()
		ch, wait, err := p.rt.Events(ctx)
		switch {
		case errors.Is(err, cri.ErrEventsUnsupported):
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
			err := wait() // the join of the runtime's stream goroutine
			if ctx.Err() != nil {
				return
			}
			// A runtime that refused the stream late says so again, at
			// once, on the next Events.
			p.streamBroke(err)
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

func (p *PLEG) streamBroke(err error) {
	p.mu.Lock()
	p.counters.streamBreaks++
	p.mu.Unlock()
	p.log.Info("pleg: container event stream ended", "err", err)
	p.setMode(ModeRelisting, "container event stream ended")
	// Events may have been lost: relist now.
	p.requestRelist()
}

// consume requests a relist for every event until the stream closes or
// ctx ends. Bursts coalesce in requestRelist. The caller then joins the
// stream with its wait func.
func (p *PLEG) consume(ctx context.Context, ch <-chan cri.ContainerEvent) {
	for {
		select {
		case <-ctx.Done():
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
