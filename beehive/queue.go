package beehive

import (
	"context"
	"fmt"
	"time"

	"github.com/tether-edge/tether/common/message"
)

// Send queues m for the module m.Route.Destination. While that queue is
// full it waits, until there is room, ctx is done (the ctx error is
// returned, wrapped) or the bus closes (ErrClosed). An unknown destination
// is ErrUnknownModule.
func (b *Bus) Send(ctx context.Context, m message.Message) error {
	if b.closed.Load() {
		return fmt.Errorf("send to %q: %w", m.Route.Destination, ErrClosed)
	}
	e, err := b.lookup(m.Route.Destination)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return b.enqueue(ctx, e, m, nil)
}

// TrySend queues m for m.Route.Destination without waiting: it returns
// ErrQueueFull, leaving m with the caller, when the queue is full.
func (b *Bus) TrySend(m message.Message) error {
	if b.closed.Load() {
		return fmt.Errorf("try send to %q: %w", m.Route.Destination, ErrClosed)
	}
	e, err := b.lookup(m.Route.Destination)
	if err != nil {
		return fmt.Errorf("try send: %w", err)
	}
	select {
	case e.queue <- m:
		return nil
	default:
		return fmt.Errorf("try send to %q: %w", e.name, ErrQueueFull)
	}
}

// SendToGroup queues m for one module of m.Route.Group, taking the group's
// modules in turn (round-robin, in registration order). It waits like Send
// on the chosen module's queue. The queued copy has Route.Destination set
// to the chosen module.
func (b *Bus) SendToGroup(ctx context.Context, m message.Message) error {
	if b.closed.Load() {
		return fmt.Errorf("send to group %q: %w", m.Route.Group, ErrClosed)
	}
	e, err := b.pick(m.Route.Group)
	if err != nil {
		return fmt.Errorf("send to group: %w", err)
	}
	m.Route.Destination = e.name
	return b.enqueue(ctx, e, m, nil)
}

// pick chooses the next module of group name, round-robin.
func (b *Bus) pick(name string) (*entry, error) {
	g, err := b.lookupGroup(name)
	if err != nil {
		return nil, err
	}
	i := g.next.Add(1) - 1
	return g.members[i%uint64(len(g.members))], nil
}

// Broadcast queues a copy of m for every module of m.Route.Group, in
// registration order, each with Route.Destination set to that module. It
// waits like Send on each queue in turn; if it stops early (ctx done, bus
// closed) the error says how many modules already have their copy.
func (b *Bus) Broadcast(ctx context.Context, m message.Message) error {
	if b.closed.Load() {
		return fmt.Errorf("broadcast to group %q: %w", m.Route.Group, ErrClosed)
	}
	g, err := b.lookupGroup(m.Route.Group)
	if err != nil {
		return fmt.Errorf("broadcast: %w", err)
	}
	for i, e := range g.members {
		m.Route.Destination = e.name
		if err := b.enqueue(ctx, e, m, nil); err != nil {
			return fmt.Errorf("broadcast to group %q: delivered to %d of %d modules: %w",
				m.Route.Group, i, len(g.members), err)
		}
	}
	return nil
}

// Receive returns the next message queued for module. It waits until one
// comes, ctx is done (the ctx error, wrapped) or the bus closes (ErrClosed).
// Messages from one sender come in the order that sender sent them.
func (b *Bus) Receive(ctx context.Context, module string) (message.Message, error) {
	if b.closed.Load() {
		return message.Message{}, fmt.Errorf("receive for %q: %w", module, ErrClosed)
	}
	e, err := b.lookup(module)
	if err != nil {
		return message.Message{}, fmt.Errorf("receive: %w", err)
	}
	select {
	case m := <-e.queue:
		return m, nil
	default:
	}
	select {
	case m := <-e.queue:
		return m, nil
	case <-ctx.Done():
		return message.Message{}, fmt.Errorf("receive for %q: %w", module, context.Cause(ctx))
	case <-b.done:
		return message.Message{}, fmt.Errorf("receive for %q: %w", module, ErrClosed)
	}
}

// enqueue puts m on e's queue, waiting while it is full until ctx is done,
// the bus closes or timeout fires (nil: never).
func (b *Bus) enqueue(ctx context.Context, e *entry, m message.Message, timeout <-chan time.Time) error {
	select {
	case e.queue <- m:
		return nil
	default:
	}
	select {
	case e.queue <- m:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("send to %q: waiting on full queue: %w", e.name, context.Cause(ctx))
	case <-b.done:
		return fmt.Errorf("send to %q: %w", e.name, ErrClosed)
	case <-timeout:
		return fmt.Errorf("send to %q: waiting on full queue: %w", e.name, errTimeout)
	}
}
