package tunnel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tether-edge/tether/common/message"
)

// ErrPeerSilent means nothing arrived from the peer for twice the keepalive
// period: the connection is dead or half-open.
var ErrPeerSilent = errors.New("tunnel: peer silent")

// Outbox supplies a session's writer. Both ends of the tunnel implement it
// over their sync state.
type Outbox interface {
	// Pull appends to buf the messages ready to go now, at most max, and
	// returns it. It must not block.
	Pull(buf []message.Message, max int) []message.Message
	// Ready returns a channel that receives when Pull may have more to
	// give. A channel of capacity 1, sent to without blocking, suffices.
	Ready() <-chan struct{}
}

// SessionOptions configure RunSession.
type SessionOptions struct {
	// Conn is the connection; RunSession closes it. Required.
	Conn Conn
	// KeepalivePeriod is how long the writer may stay silent before it
	// sends a keepalive; a peer silent for twice as long is dead. Required.
	KeepalivePeriod time.Duration
	// WriteTimeout bounds each write. Default: KeepalivePeriod.
	WriteTimeout time.Duration
	// Outbox supplies what to write. Required.
	Outbox Outbox
	// Receive is called by the reader with each message other than
	// keepalives, in order. It may block (the reader waits); an error ends
	// the session. Required.
	Receive func(ctx context.Context, m message.Message) error
	// Source is Route.Source of keepalives. Required.
	Source string
	// MaxBatch is how many messages go in one write. Default 256.
	MaxBatch int
}

func (o *SessionOptions) validate() error {
	if o.Conn == nil || o.Outbox == nil || o.Receive == nil || o.Source == "" {
		return errors.New("tunnel: session needs Conn, Outbox, Receive and Source")
	}
	if o.KeepalivePeriod <= 0 {
		return errors.New("tunnel: session needs a positive KeepalivePeriod")
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = o.KeepalivePeriod
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	return nil
}

// RunSession runs one connection until ctx ends or the connection fails,
// and closes it. One context owns the session's reader and writer (which
// also sends the keepalives): when either fails, or ctx ends, the other is
// cancelled and the connection closed, and RunSession returns after both
// have stopped. Between writes the writer holds no buffer. It returns nil when ctx ended, else why the session ended
// (wrapping ErrPeerSilent for a silent peer).
func RunSession(ctx context.Context, o SessionOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	closeConn := func() {
		reason := "closing"
		if ctx.Err() == nil {
			reason = "session failed"
		}
		o.Conn.Close(reason)
	}
	// Closing the connection is what unblocks a reader waiting in Read.
	context.AfterFunc(gctx, closeConn)
	g.Go(func() error { return readLoop(gctx, o) })
	g.Go(func() error { return writeLoop(gctx, o) })
	err := g.Wait()
	closeConn() // idempotent: closed before RunSession returns
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func readLoop(ctx context.Context, o SessionOptions) error {
	silence := 2 * o.KeepalivePeriod
	for {
		if err := o.Conn.SetReadDeadline(time.Now().Add(silence)); err != nil {
			return fmt.Errorf("set read deadline: %w", err)
		}
		m, err := o.Conn.Read()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if isTimeout(err) {
				return fmt.Errorf("%w: nothing received for %s", ErrPeerSilent, silence)
			}
			return fmt.Errorf("read: %w", err)
		}
		if m.Route.Operation == message.OpKeepalive {
			continue
		}
		if err := o.Receive(ctx, m); err != nil {
			return err
		}
	}
}

// batches holds the writers' batch buffers between writes, so an idle
// session holds none (thousands of idle sessions are the common case).
var batches = sync.Pool{New: func() any { return new([]message.Message) }}

func writeLoop(ctx context.Context, o SessionOptions) error {
	idle := time.NewTimer(o.KeepalivePeriod)
	defer idle.Stop()
	for {
		batch := batches.Get().(*[]message.Message)
		*batch = o.Outbox.Pull((*batch)[:0], o.MaxBatch)
		if len(*batch) == 0 {
			batches.Put(batch)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-o.Outbox.Ready():
				continue
			case <-idle.C:
				batch = &[]message.Message{Keepalive(o.Source)}
			}
		}
		err := write(o, *batch)
		clear(*batch) // let the written messages' content go
		batches.Put(batch)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		idle.Reset(o.KeepalivePeriod)
	}
}

func write(o SessionOptions, batch []message.Message) error {
	if err := o.Conn.SetWriteDeadline(time.Now().Add(o.WriteTimeout)); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	if err := o.Conn.Write(batch); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
