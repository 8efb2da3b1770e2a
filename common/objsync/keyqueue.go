package objsync

import "github.com/tether-edge/tether/common/message"

// keyQueue is a FIFO of keys in which each key appears at most once.
type keyQueue struct {
	order  []message.Resource
	head   int
	queued map[message.Resource]struct{}
}

// push queues k unless it is already queued.
func (q *keyQueue) push(k message.Resource) {
	if q.queued == nil {
		q.queued = make(map[message.Resource]struct{})
	}
	if _, ok := q.queued[k]; ok {
		return
	}
	q.queued[k] = struct{}{}
	q.order = append(q.order, k)
}

// pop takes the oldest queued key.
func (q *keyQueue) pop() (message.Resource, bool) {
	if q.head == len(q.order) {
		return message.Resource{}, false
	}
	k := q.order[q.head]
	q.order[q.head] = message.Resource{}
	q.head++
	delete(q.queued, k)
	if q.head == len(q.order) {
		q.order, q.head = q.order[:0], 0
	} else if q.head > 64 && q.head > len(q.order)/2 {
		q.order, q.head = append(q.order[:0], q.order[q.head:]...), 0
	}
	return k, true
}

func (q *keyQueue) len() int { return len(q.order) - q.head }

func (q *keyQueue) clear() {
	clear(q.order)
	q.order, q.head = q.order[:0], 0
	clear(q.queued)
}
