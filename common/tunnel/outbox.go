package tunnel

import "github.com/tether-edge/tether/common/message"

// Wakeup is the channel an Outbox returns from Ready. Wake never blocks,
// and several wakes before the writer looks count as one.
type Wakeup chan struct{}

// NewWakeup returns a Wakeup with room for one pending wake.
func NewWakeup() Wakeup { return make(Wakeup, 1) }

// Wake tells the writer that Pull may have more.
func (w Wakeup) Wake() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// TakeFront appends up to n messages from the front of *q to buf and
// removes them from *q, reusing its array. For an Outbox's queues.
func TakeFront(buf []message.Message, q *[]message.Message, n int) []message.Message {
	k := min(len(*q), max(n, 0))
	buf = append(buf, (*q)[:k]...)
	rest := copy(*q, (*q)[k:])
	clear((*q)[rest:])
	*q = (*q)[:rest]
	return buf
}
