// Package beehivetest is a fake of the beehive.Bus methods a module uses,
// for unit tests that drive one module by hand: the test delivers the
// module's messages, the fake records what the module sends and answers
// its requests with an Answer the test chooses. Sends never block or fail.
// A Bus is safe for concurrent use; it works inside a testing/synctest
// bubble.
package beehivetest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tether-edge/tether/common/message"
)

// inboxSize is how many delivered messages may wait for Receive.
const inboxSize = 64

// Answer answers a request as the module it is addressed to would. It may
// wait on ctx, as the network would.
type Answer func(ctx context.Context, req message.Message) (message.Message, error)

// Bus is the fake. Its zero value is not ready: call New.
type Bus struct {
	inbox chan message.Message

	// mu guards everything below.
	mu        sync.Mutex
	answer    Answer
	sent      []message.Message // Send
	trySent   []message.Message // TrySend
	requests  []message.Message // SendSync
	responses []message.Message // SendResponse
}

// New returns a Bus that answers every request with Accept.
func New() *Bus {
	return &Bus{inbox: make(chan message.Message, inboxSize), answer: Accept}
}

// Deliver queues m for Receive; it blocks while 64 messages wait.
func (b *Bus) Deliver(m message.Message) { b.inbox <- m }

// SetAnswer makes a answer the requests from now on.
func (b *Bus) SetAnswer(a Answer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.answer = a
}

// Receive returns the next delivered message, whatever the module.
func (b *Bus) Receive(ctx context.Context, _ string) (message.Message, error) {
	select {
	case m := <-b.inbox:
		return m, nil
	case <-ctx.Done():
		return message.Message{}, ctx.Err()
	}
}

// Send records m.
func (b *Bus) Send(_ context.Context, m message.Message) error {
	b.record(&b.sent, m)
	return nil
}

// TrySend records m.
func (b *Bus) TrySend(m message.Message) error {
	b.record(&b.trySent, m)
	return nil
}

// SendResponse records resp.
func (b *Bus) SendResponse(_ context.Context, resp message.Message) error {
	b.record(&b.responses, resp)
	return nil
}

// SendSync records m and returns the Answer to it; the timeout is ignored.
func (b *Bus) SendSync(ctx context.Context, m message.Message, _ time.Duration) (message.Message, error) {
	b.mu.Lock()
	b.requests = append(b.requests, m)
	answer := b.answer
	b.mu.Unlock()
	return answer(ctx, m)
}

func (b *Bus) record(to *[]message.Message, m message.Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	*to = append(*to, m)
}

// Sent returns the messages sent with Send so far.
func (b *Bus) Sent() []message.Message { return b.copyOf(&b.sent) }

// TrySent returns the messages sent with TrySend so far.
func (b *Bus) TrySent() []message.Message { return b.copyOf(&b.trySent) }

// Requests returns the messages sent with SendSync so far.
func (b *Bus) Requests() []message.Message { return b.copyOf(&b.requests) }

// Responses returns the messages sent with SendResponse so far.
func (b *Bus) Responses() []message.Message { return b.copyOf(&b.responses) }

func (b *Bus) copyOf(list *[]message.Message) []message.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(*list)
}

// Accept answers OpResponse, with no content.
func Accept(_ context.Context, req message.Message) (message.Message, error) {
	return req.Response(req.Route.Destination, message.OpResponse, nil), nil
}

// Refuse returns an Answer of OpError with text as content.
func Refuse(text string) Answer {
	return func(_ context.Context, req message.Message) (message.Message, error) {
		return req.Response(req.Route.Destination, message.OpError, []byte(text)), nil
	}
}

// Hang waits until ctx ends and returns its error: a request the network
// never answers.
func Hang(ctx context.Context, _ message.Message) (message.Message, error) {
	<-ctx.Done()
	return message.Message{}, ctx.Err()
}
