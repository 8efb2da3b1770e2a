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
// Each status carries its version in Header.Timestamp. Put makes versions
// grow per key, so the cloud's StatusFilter can tell newer from older.
type StatusQueue struct {
	// latest is the newest status not yet acknowledged, per key.
	latest map[message.Resource]message.Message
	// versions is the last version given out per key; it outlives latest
	// so that versions keep growing after an ack.
	versions  map[message.Resource]int64
	dirty     keyQueue
	win       window[statusSent]
	connected bool
}

type statusSent struct {
	key     message.Resource
	version int64
}

// NewStatusQueue returns an empty queue; window is how many statuses may
// await acknowledgement (0 means DefaultWindow).
func NewStatusQueue(window int) *StatusQueue {
	return &StatusQueue{
		latest:   make(map[message.Resource]message.Message),
		versions: make(map[message.Resource]int64),
		win:      newWindow[statusSent](window),
	}
}

// Put queues m as the latest status for m.Route.Resource. A status older
// than the last one put for its key (a smaller Header.Timestamp) is dropped
// and Put returns false. One as old as the last gets the next version, so
// the later of two statuses made in the same millisecond wins. Put reports
// whether m was kept, and so whether the caller should wake its sender.
func (q *StatusQueue) Put(m message.Message) bool {
	key := m.Route.Resource
	last, seen := q.versions[key]
	switch {
	case seen && m.Header.Timestamp < last:
		return false
	case seen && m.Header.Timestamp == last:
		m.Header.Timestamp = last + 1
	}
	q.versions[key] = m.Header.Timestamp
	q.latest[key] = m
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
		return cmp.Compare(q.latest[a].Header.Timestamp, q.latest[b].Header.Timestamp)
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
		m, ok := q.latest[key]
		if !ok {
			continue
		}
		m.Header.Seq = q.win.add(statusSent{key: key, version: m.Header.Timestamp})
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
		if m, ok := q.latest[s.key]; ok && m.Header.Timestamp == s.version {
			delete(q.latest, s.key)
		}
	})
}

// Len is how many statuses are kept (not yet acknowledged).
func (q *StatusQueue) Len() int { return len(q.latest) }

// Pending returns the kept statuses, for persisting them.
func (q *StatusQueue) Pending() []message.Message {
	out := make([]message.Message, 0, len(q.latest))
	for _, m := range q.latest {
		out = append(out, m)
	}
	return out
}

// DefaultFilterKeys bounds a StatusFilter when NewStatusFilter gets 0.
const DefaultFilterKeys = 1 << 16

// StatusFilter is the cloud's guard, per node, against a status that is not
// newer than the last one delivered for its key. It remembers up to a
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

// Admit reports whether m is newer than the last status admitted for its
// key, and if so remembers it.
func (f *StatusFilter) Admit(m message.Message) bool {
	key, v := m.Route.Resource, m.Header.Timestamp
	if last, ok := f.last[key]; ok && v <= last {
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
