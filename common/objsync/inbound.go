package objsync

import (
	"errors"
	"fmt"
)

// ErrProtocol is wrapped by every error that means the peer broke the
// protocol (a sequence gap, an ack for something never sent). The session
// that saw it must be closed; the next one resynchronises.
var ErrProtocol = errors.New("objsync: protocol violation")

// Inbound checks the sequence numbers of one session's incoming stream.
// The zero value expects sequence number 1.
type Inbound struct {
	last uint64
}

// Check classifies seq: the next one in order is fresh (and becomes the
// last accepted), one at or below the last accepted is a duplicate
// (fresh false, nil error: ignore it, acknowledge again), and one beyond a
// gap is an error wrapping ErrProtocol.
func (in *Inbound) Check(seq uint64) (fresh bool, err error) {
	switch {
	case seq == 0:
		return false, fmt.Errorf("%w: sequence number 0", ErrProtocol)
	case seq <= in.last:
		return false, nil
	case seq == in.last+1:
		in.last = seq
		return true, nil
	default:
		return false, fmt.Errorf("%w: got sequence number %d, expected %d", ErrProtocol, seq, in.last+1)
	}
}

// Last is the last sequence number accepted: what a cumulative ack carries.
func (in *Inbound) Last() uint64 { return in.last }

// Reset starts a new session: the next sequence number expected is 1.
func (in *Inbound) Reset() { in.last = 0 }
