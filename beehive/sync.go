package beehive

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tether-edge/tether/common/message"
)

// errTimeout is what a timed-out SendSync returns: both ErrTimeout and
// context.DeadlineExceeded match it.
var errTimeout = fmt.Errorf("%w: %w", ErrTimeout, context.DeadlineExceeded)

// expiredMemory is how many abandoned request IDs the bus remembers, so that
// their late responses are recognised and dropped (with a log and a count)
// rather than routed.
const expiredMemory = 4096

// waiters holds the SendSync callers waiting for a response.
type waiters struct {
	// mu guards pending, expired and ring.
	mu sync.Mutex
	// pending maps a request ID to its caller's waiter. Exactly one
	// responder, the one that removes the entry, sends on its reply.
	pending map[string]*waiter
	// expired holds the IDs of requests whose caller gave up; ring keeps
	// them in arrival order so the oldest is forgotten first.
	expired map[string]struct{}
	ring    []string
	next    int

	pool     sync.Pool // of *waiter, reply empty and timer stopped
	timeouts atomic.Uint64
	late     atomic.Uint64
}

func newWaiters() waiters {
	return waiters{
		pending: map[string]*waiter{},
		expired: map[string]struct{}{},
		ring:    make([]string, expiredMemory),
	}
}

// waiter is one SendSync caller's reply slot and timer, reused through
// waiters.pool so the hot path allocates neither.
type waiter struct {
	reply chan message.Message // capacity 1
	timer *time.Timer          // nil until a SendSync with a timeout uses it
}

// expiry starts w's timer for d and returns its channel; nil if d <= 0.
func (w *waiter) expiry(d time.Duration) <-chan time.Time {
	if d <= 0 {
		return nil
	}
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	return w.timer.C
}

// release stops w's timer and returns w, whose reply is empty, to the pool.
func (ws *waiters) release(w *waiter) {
	if w.timer != nil {
		w.timer.Stop() // no stale tick survives Stop (Go 1.23 timers)
	}
	ws.pool.Put(w)
}

// add registers a waiter for request id.
func (ws *waiters) add(id string) (*waiter, error) {
	w, _ := ws.pool.Get().(*waiter)
	if w == nil {
		w = &waiter{reply: make(chan message.Message, 1)}
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if _, dup := ws.pending[id]; dup {
		ws.pool.Put(w)
		return nil, fmt.Errorf("request %s is already waiting for a response", id)
	}
	ws.pending[id] = w
	return w, nil
}

// remove drops the waiter for id, whose request was never delivered.
func (ws *waiters) remove(id string, w *waiter) {
	ws.mu.Lock()
	delete(ws.pending, id)
	ws.mu.Unlock()
	ws.release(w)
}

// abandon gives up waiting for id. If a responder has already claimed the
// waiter, its send is imminent: abandon takes the response and returns true.
func (ws *waiters) abandon(id string, w *waiter) (message.Message, bool) {
	ws.mu.Lock()
	if ws.pending[id] == w {
		delete(ws.pending, id)
		ws.rememberLocked(id)
		ws.mu.Unlock()
		ws.timeouts.Add(1)
		ws.release(w)
		return message.Message{}, false
	}
	ws.mu.Unlock()
	resp := <-w.reply
	ws.release(w)
	return resp, true
}

// rememberLocked records id as abandoned, forgetting the oldest if full.
func (ws *waiters) rememberLocked(id string) {
	if old := ws.ring[ws.next]; old != "" {
		delete(ws.expired, old)
	}
	ws.ring[ws.next] = id
	ws.expired[id] = struct{}{}
	ws.next = (ws.next + 1) % len(ws.ring)
}

// claim removes and returns the waiter for parent. If there is none but
// parent was abandoned, late is true.
func (ws *waiters) claim(parent string) (w *waiter, late bool) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if w, ok := ws.pending[parent]; ok {
		delete(ws.pending, parent)
		return w, false
	}
	if _, ok := ws.expired[parent]; ok {
		delete(ws.expired, parent) // a ring slot may name it still; harmless
		return nil, true
	}
	return nil, false
}

// SendSync sends m and waits for its response: the message passed to
// SendResponse whose Header.ParentID is m.Header.ID. It sets m.Header.Sync,
// and m.Header.ID if empty. m goes to Route.Destination or, if that is
// empty, to one module of Route.Group (as SendToGroup).
//
// timeout bounds the whole call, queueing included; zero or less means only
// ctx bounds it. On timeout the error wraps ErrTimeout (and
// context.DeadlineExceeded); if ctx ends first, the ctx error. A response
// arriving after that is dropped and counted (Stats.LateResponses).
func (b *Bus) SendSync(ctx context.Context, m message.Message, timeout time.Duration) (message.Message, error) {
	if b.closed.Load() {
		return message.Message{}, fmt.Errorf("send sync: %w", ErrClosed)
	}
	e, err := b.syncTarget(&m)
	if err != nil {
		return message.Message{}, fmt.Errorf("send sync: %w", err)
	}
	if m.Header.ID == "" {
		m.Header.ID = message.NewID()
	}
	m.Header.Sync = true
	w, err := b.sync.add(m.Header.ID)
	if err != nil {
		return message.Message{}, fmt.Errorf("send sync to %q: %w", e.name, err)
	}
	expire := w.expiry(timeout)
	if err := b.enqueue(ctx, e, m, expire); err != nil {
		b.sync.remove(m.Header.ID, w)
		return message.Message{}, fmt.Errorf("send sync: %w", err)
	}
	return b.await(ctx, e.name, m.Header.ID, w, expire)
}

// syncTarget resolves where SendSync sends m, filling in Destination when
// m goes to a group.
func (b *Bus) syncTarget(m *message.Message) (*entry, error) {
	if m.Route.Destination == "" && m.Route.Group != "" {
		e, err := b.pick(m.Route.Group)
		if err != nil {
			return nil, err
		}
		m.Route.Destination = e.name
		return e, nil
	}
	return b.lookup(m.Route.Destination)
}

// await waits for the response to request id, sent to module dest.
func (b *Bus) await(ctx context.Context, dest, id string, w *waiter, expire <-chan time.Time) (message.Message, error) {
	var cause error
	select {
	case resp := <-w.reply:
		b.sync.release(w)
		return resp, nil
	case <-expire:
		cause = errTimeout
	case <-ctx.Done():
		cause = context.Cause(ctx)
	case <-b.done:
		cause = ErrClosed
	}
	if resp, ok := b.sync.abandon(id, w); ok {
		return resp, nil
	}
	return message.Message{}, fmt.Errorf("send sync to %q: waiting for response to %s: %w", dest, id, cause)
}

// SendResponse delivers resp. If a SendSync caller waits for
// resp.Header.ParentID, resp is handed to it without blocking. If that
// caller has already given up, resp is dropped, logged at debug level and
// counted in Stats.LateResponses. Otherwise resp is sent like Send to
// resp.Route.Destination, so asynchronous request/response works too.
func (b *Bus) SendResponse(ctx context.Context, resp message.Message) error {
	parent := resp.Header.ParentID
	if parent == "" {
		return b.Send(ctx, resp)
	}
	w, late := b.sync.claim(parent)
	switch {
	case w != nil:
		w.reply <- resp // capacity 1, and this goroutine is its only sender
		return nil
	case late:
		b.sync.late.Add(1)
		b.log.Debug("dropped late response: requester gave up",
			"parent", parent, "id", resp.Header.ID,
			"source", resp.Route.Source, "destination", resp.Route.Destination)
		return nil
	}
	if err := b.Send(ctx, resp); err != nil {
		return fmt.Errorf("send response to %s: %w", parent, err)
	}
	return nil
}
