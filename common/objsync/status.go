package objsync

import (
	"cmp"
	"slices"

	"github.com/tether-edge/tether/common/message"
)

// StatusQueue is the edge's level-triggered queue of statuses for the
// cloud: the latest status per key (its Route.Resource), kept until the
// cloud acknowledges it or a newer one replaces it, across disconnects.
//
// A status's version is its Header.Timestamp, the time its producer made
// it. The cloud's StatusFilter drops a status older than one it delivered
// for the same key; a status as old as that one is delivered (statuses are
// idempotent levels, so a repeat is harmless, and two made in the same
// millisecond arrive in the order they were put).
type StatusQueue struct {
	// latest is the newest status not yet acknowledged, per key.
	latest map[message.Resource]pendingStatus
	// puts numbers every status kept, to tell them apart in acks.
	puts      uint64
	dirty     keyQueue
	win       window[statusSent]
	connected bool
}

type pendingStatus struct {
	m   message.Message
	put uint64
}

type statusSent struct {
	key message.Resource
	put uint64
}

// NewStatusQueue returns an empty queue; window is how many statuses may
// await acknowledgement (0 means DefaultWindow).
func NewStatusQueue(window int) *StatusQueue {
	return &StatusQueue{
		latest: make(map[message.Resource]pendingStatus),
		win:    newWindow[statusSent](window),
	}
}

// Put keeps m as the latest status for m.Route.Resource, unless the one
// kept is newer (a larger Header.Timestamp): then m is dropped and Put
// returns false. Put reports whether m was kept, and so whether the caller
// should wake its sender.
func (q *StatusQueue) Put(m message.Message) bool {
	key := m.Route.Resource
	if cur, ok := q.latest[key]; ok && m.Header.Timestamp < cur.m.Header.Timestamp {
		return false
	}
	q.puts++
	q.latest[key] = pendingStatus{m: m, put: q.puts}
	if q.connected {
		q.dirty.push(key)
	}
	return true
}

// Connect starts a session: numbering starts at 1 and every kept status is
// queued, oldest first.
func (q *StatusQueue) Connect() {
	q.Disconnect()
	q.connected = true
	keys := make([]message.Resource, 0, len(q.latest))
	for k := range q.latest {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b message.Resource) int {
		return cmp.Compare(q.latest[a].put, q.latest[b].put)
	})
	for _, k := range keys {
		q.dirty.push(k)
	}
}

// Disconnect ends the session. Unacknowledged statuses stay and are sent
// again after the next Connect.
func (q *StatusQueue) Disconnect() {
	q.connected = false
	q.dirty.clear()
	q.win.reset()
}

// Next returns the next status to send, numbered in Header.Seq, if a
// session is running, the window has room and one is due.
func (q *StatusQueue) Next() (message.Message, bool) {
	if !q.connected || q.win.full() {
		return message.Message{}, false
	}
	for {
		key, ok := q.dirty.pop()
		if !ok {
			return message.Message{}, false
		}
		p, ok := q.latest[key]
		if !ok {
			continue
		}
		m := p.m
		m.Header.Seq = q.win.add(statusSent{key: key, put: p.put})
		return m, true
	}
}

// Ack takes the cloud's cumulative acknowledgement up to seq. A status
// acknowledged and not replaced since leaves the queue.
func (q *StatusQueue) Ack(seq uint64) error {
	if !q.connected {
		return nil
	}
	return q.win.ack(seq, func(s statusSent) {
		if p, ok := q.latest[s.key]; ok && p.put == s.put {
			delete(q.latest, s.key)
		}
	})
}

// Len is how many statuses are kept (not yet acknowledged).
func (q *StatusQueue) Len() int { return len(q.latest) }

// DefaultFilterKeys bounds a StatusFilter when NewStatusFilter gets 0.
const DefaultFilterKeys = 1 << 16

// StatusFilter is the cloud's guard, per node, against a status older than
// the last one delivered for its key. It remembers up to a
// bound of keys; past it, it forgets the half with the oldest versions.
type StatusFilter struct {
	max  int
	last map[message.Resource]int64
}

// NewStatusFilter returns a filter remembering up to maxKeys keys (0 means
// DefaultFilterKeys).
func NewStatusFilter(maxKeys int) *StatusFilter {
	if maxKeys <= 0 {
		maxKeys = DefaultFilterKeys
	}
	return &StatusFilter{max: maxKeys, last: make(map[message.Resource]int64)}
}

// Admit reports whether m is at least as new as the last status admitted
// for its key, and if so remembers it.
func (f *StatusFilter) Admit(m message.Message) bool {
	key, v := m.Route.Resource, m.Header.Timestamp
	if last, ok := f.last[key]; ok && v < last {
		return false
	}
	f.last[key] = v
	if len(f.last) > f.max {
		f.forgetOldest()
	}
	return true
}

func (f *StatusFilter) forgetOldest() {
	versions := make([]int64, 0, len(f.last))
	for _, v := range f.last {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	cut := versions[len(versions)/2]
	for k, v := range f.last {
		if v < cut {
			delete(f.last, k)
		}
	}
}
