package simulator

import (
	"context"
	"fmt"
	"sync"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
	"github.com/tether-edge/tether/common/tunnel"
)

// session is one simulated session's protocol state: it is the session's
// Outbox (all it ever sends is the ack of the sync stream) and its
// Receive. A new session starts at sequence number 1.
type session struct {
	ready    tunnel.Wakeup // wakes the writer
	onSynced func()        // called once, when the OpSynced marker arrives

	// mu guards the fields below.
	mu     sync.Mutex
	in     objsync.Inbound
	ackDue bool
	marker bool // the OpSynced marker arrived
}

func newSession(onSynced func()) *session {
	return &session{ready: tunnel.NewWakeup(), onSynced: onSynced}
}

// Ready implements tunnel.Outbox.
func (s *session) Ready() <-chan struct{} { return s.ready }

// Pull implements tunnel.Outbox: the cumulative ack of every sync message
// received so far, when one is owed.
func (s *session) Pull(buf []message.Message, max int) []message.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ackDue && len(buf) < max {
		buf = append(buf, tunnel.Ack(Source, s.in.Last()))
		s.ackDue = false
	}
	return buf
}

// receive takes one message from cloudcore: sync messages are sequenced
// and acknowledged (a gap ends the session, as on a real edge), and the
// OpSynced marker is noted; everything else is ignored.
func (s *session) receive(_ context.Context, m message.Message) error {
	if tunnel.Classify(m) != tunnel.KindSequenced {
		return nil
	}
	s.mu.Lock()
	fresh, err := s.in.Check(m.Header.Seq)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("sync message %s: %w", m.Route.Operation, err)
	}
	marker := fresh && m.Route.Operation == objsync.OpSynced && !s.marker
	if marker {
		s.marker = true
	}
	s.ackDue = true
	s.mu.Unlock()
	if marker {
		s.onSynced()
	}
	s.ready.Wake()
	return nil
}

// synced reports whether the OpSynced marker arrived.
func (s *session) synced() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.marker
}
