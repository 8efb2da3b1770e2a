package objsync

import "github.com/tether-edge/tether/common/message"

// Outbound is the cloud's sync state for one edge node: the desired set,
// what the edge will hold once everything sent has arrived, and the keys
// that still differ. See the package doc.
type Outbound struct {
	source string
	// desired is the node's desired set, by key.
	desired map[message.Resource]Object
	// edge is what the edge holds once every message handed out has been
	// applied: the manifest of this session, updated as Next hands out
	// messages. Delivery within a session is in order or the session ends,
	// so this projection is exact for a live session. Nil while
	// disconnected.
	edge map[message.Resource]Version
	// dirty holds the keys where desired and edge may differ.
	dirty keyQueue
	win   window[struct{}]
	// markerDue is set by Connect and cleared when the OpSynced marker is
	// handed out.
	markerDue bool
}

// NewOutbound returns the state for one node. source becomes Route.Source
// of every sync message; window is how many may await acknowledgement (0
// means DefaultWindow).
func NewOutbound(source string, window int) *Outbound {
	return &Outbound{
		source:  source,
		desired: make(map[message.Resource]Object),
		win:     newWindow[struct{}](window),
	}
}

// Set makes obj (keyed by obj.Key, which must have no Node) a member of the
// desired set, replacing any earlier version. It reports whether a message
// has become due, so the caller knows to wake its sender.
func (o *Outbound) Set(obj Object) bool {
	o.desired[obj.Key] = obj
	return o.markIfDiffers(obj.Key)
}

// Delete removes key from the desired set. It reports whether a message has
// become due.
func (o *Outbound) Delete(key message.Resource) bool {
	if _, ok := o.desired[key]; !ok {
		return false
	}
	delete(o.desired, key)
	return o.markIfDiffers(key)
}

func (o *Outbound) markIfDiffers(key message.Resource) bool {
	if o.edge == nil {
		return false
	}
	want, wanted := o.desired[key]
	have, held := o.edge[key]
	if wanted == held && (!wanted || want.Version == have) {
		return false
	}
	o.dirty.push(key)
	return true
}

// Connect starts a session with an edge that holds manifest. Sequence
// numbers start again at 1, and every key where the desired set and the
// manifest differ is queued, followed by one OpSynced marker.
func (o *Outbound) Connect(manifest []Entry) {
	o.Disconnect()
	o.edge = make(map[message.Resource]Version, len(manifest))
	for _, e := range manifest {
		o.edge[e.Key] = e.Version
	}
	for _, e := range manifest {
		o.markIfDiffers(e.Key)
	}
	for k := range o.desired {
		if _, held := o.edge[k]; !held {
			o.dirty.push(k)
		}
	}
	o.markerDue = true
}

// Disconnect ends the session. Messages in flight are forgotten; the next
// Connect learns from the edge's manifest what arrived.
func (o *Outbound) Disconnect() {
	o.edge = nil
	o.dirty.clear()
	o.win.reset()
	o.markerDue = false
}

// Connected reports whether a session is running.
func (o *Outbound) Connected() bool { return o.edge != nil }

// Next returns the next message to send, if a session is running, the
// window has room and something is due: an upsert (OpInsert for an object
// the edge lacks, OpUpdate for one it holds in another version) with the
// object's JSON as content, an OpDelete, or the OpSynced marker. Each
// carries the session's next sequence number in Header.Seq. Messages have
// no Timestamp; the sender stamps them if it wants.
func (o *Outbound) Next() (message.Message, bool) {
	if o.edge == nil || o.win.full() {
		return message.Message{}, false
	}
	for {
		key, ok := o.dirty.pop()
		if !ok {
			break
		}
		if m, due := o.messageFor(key); due {
			m.Header.Seq = o.win.add(struct{}{})
			return m, true
		}
	}
	if o.markerDue {
		o.markerDue = false
		m := o.message(OpSynced, message.Resource{}, "", nil)
		m.Header.Seq = o.win.add(struct{}{})
		return m, true
	}
	return message.Message{}, false
}

// messageFor builds the message that brings the edge's copy of key to the
// desired one, and records it as sent; due is false when they already agree.
func (o *Outbound) messageFor(key message.Resource) (m message.Message, due bool) {
	want, wanted := o.desired[key]
	have, held := o.edge[key]
	switch {
	case wanted && !held:
		o.edge[key] = want.Version
		return o.message(message.OpInsert, key, want.ResourceVersion, want.Content), true
	case wanted && want.Version != have:
		o.edge[key] = want.Version
		return o.message(message.OpUpdate, key, want.ResourceVersion, want.Content), true
	case !wanted && held:
		delete(o.edge, key)
		return o.message(message.OpDelete, key, have.ResourceVersion, nil), true
	}
	return message.Message{}, false
}

func (o *Outbound) message(op message.Operation, key message.Resource, rv string, content []byte) message.Message {
	return message.Message{
		Header:  message.Header{ID: message.NewID(), ResourceVersion: rv},
		Route:   message.Route{Source: o.source, Operation: op, Resource: key},
		Content: content,
	}
}

// Ack takes the edge's cumulative acknowledgement of every sequence number
// up to seq, freeing room in the window. A duplicate or older ack changes
// nothing; an ack for a number never sent is an error wrapping ErrProtocol.
func (o *Outbound) Ack(seq uint64) error {
	if o.edge == nil {
		return nil
	}
	return o.win.ack(seq, nil)
}

// Queued is how many keys may still need a message: the queue depth.
func (o *Outbound) Queued() int { return o.dirty.len() }

// InFlight is how many messages await acknowledgement.
func (o *Outbound) InFlight() int { return len(o.win.pending) }

// InSync reports whether a session is running and the edge has acknowledged
// everything it needs: nothing queued, nothing in flight, marker sent.
func (o *Outbound) InSync() bool {
	return o.edge != nil && o.dirty.len() == 0 && len(o.win.pending) == 0 && !o.markerDue
}
