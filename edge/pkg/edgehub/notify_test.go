package edgehub

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/tether-edge/tether/common/message"
)

// gateBus hands every Send to the test through an unbuffered channel, so
// a send blocks until the test takes it: a subscriber whose queue is full.
// entered tells the test a send has begun.
type gateBus struct {
	Bus
	entered chan struct{}
	sent    chan message.Message
}

func (g gateBus) Send(ctx context.Context, m message.Message) error {
	g.entered <- struct{}{}
	select {
	case g.sent <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A subscriber that is not taking messages delays only its notice: the
// state is never lost, states replaced meanwhile are skipped, and the
// newest arrives once it takes again.
func TestNotifierDeliversTheNewestState(t *testing.T) {
	bus := gateBus{entered: make(chan struct{}, 1), sent: make(chan message.Message)}
	n := newNotifier("sub")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.run(ctx, bus, slog.New(slog.NewTextHandler(io.Discard, nil))) }()

	n.set(OpCloudConnected)
	<-bus.entered // delivering connected, blocked on the subscriber
	n.set(OpCloudSynced)
	n.set(OpCloudDisconnected)
	first := <-bus.sent
	<-bus.entered
	second := <-bus.sent
	if first.Route.Operation != OpCloudConnected || second.Route.Operation != OpCloudDisconnected {
		t.Fatalf("delivered %s then %s; want %s then %s", first.Route.Operation, second.Route.Operation, OpCloudConnected, OpCloudDisconnected)
	}
	if second.Route.Destination != "sub" || second.Route.Source != Name {
		t.Fatalf("notice routed %s -> %s", second.Route.Source, second.Route.Destination)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	select {
	case m := <-bus.sent:
		t.Fatalf("a third notice %s after the newest was delivered", m.Route.Operation)
	default:
	}
}
