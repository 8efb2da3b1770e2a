package edgehub

import (
	"context"
	"log/slog"
	"sync"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/tunnel"
)

// notifier tells one subscriber module the cloud's state, level-triggered:
// the newest state replaces one not yet delivered, and a slow or full
// subscriber delays only its own notice, never the hub and never another
// subscriber. A subscriber may so miss a passing state (connected, when
// synced follows at once) but always gets the latest.
type notifier struct {
	to   string
	wake tunnel.Wakeup

	// mu guards pending.
	mu sync.Mutex
	// pending is the state not yet delivered; empty when none is.
	pending message.Operation
}

func newNotifier(to string) *notifier {
	return &notifier{to: to, wake: tunnel.NewWakeup()}
}

// set makes op the state to deliver next.
func (n *notifier) set(op message.Operation) {
	n.mu.Lock()
	n.pending = op
	n.mu.Unlock()
	n.wake.Wake()
}

// run delivers the pending state, blocking on the subscriber's queue,
// until ctx ends.
func (n *notifier) run(ctx context.Context, bus Bus, log *slog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-n.wake:
		}
		n.mu.Lock()
		op := n.pending
		n.pending = ""
		n.mu.Unlock()
		if op == "" {
			continue
		}
		if err := bus.Send(ctx, message.New(Name, n.to, op, message.Resource{}, nil)); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("subscriber not told", "module", n.to, "event", op, "err", err)
		}
	}
}
