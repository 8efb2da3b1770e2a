package objsync

import "fmt"

// DefaultWindow is how many sequenced messages may await acknowledgement.
const DefaultWindow = 128

// window numbers the messages of one session and keeps those not yet
// acknowledged, with what the sender needs to know about each.
type window[T any] struct {
	size    int
	lastSeq uint64 // the last sequence number handed out in this session
	pending []sent[T]
}

type sent[T any] struct {
	seq  uint64
	item T
}

func newWindow[T any](size int) window[T] {
	if size <= 0 {
		size = DefaultWindow
	}
	return window[T]{size: size}
}

func (w *window[T]) full() bool { return len(w.pending) >= w.size }

// add numbers item with the next sequence number.
func (w *window[T]) add(item T) uint64 {
	w.lastSeq++
	w.pending = append(w.pending, sent[T]{seq: w.lastSeq, item: item})
	return w.lastSeq
}

// ack releases every message up to seq, oldest first, through done. An ack
// at or below an earlier one is a duplicate and changes nothing; one for a
// sequence number never handed out is an error wrapping ErrProtocol.
func (w *window[T]) ack(seq uint64, done func(T)) error {
	if seq > w.lastSeq {
		return fmt.Errorf("%w: ack %d, but only %d sent", ErrProtocol, seq, w.lastSeq)
	}
	n := 0
	for n < len(w.pending) && w.pending[n].seq <= seq {
		if done != nil {
			done(w.pending[n].item)
		}
		n++
	}
	if n > 0 {
		w.pending = append(w.pending[:0], w.pending[n:]...)
	}
	return nil
}

// reset forgets the session: nothing pending, numbering starts again at 1.
func (w *window[T]) reset() {
	clear(w.pending)
	w.pending, w.lastSeq = w.pending[:0], 0
}
