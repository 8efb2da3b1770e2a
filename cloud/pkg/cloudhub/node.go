package cloudhub

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
	"github.com/tether-edge/tether/common/tunnel"
)

// maxControl bounds a node's queue of unsequenced messages (acks excepted):
// responses, requests and one-way messages waiting for the writer.
const maxControl = 1024

// session is one live connection of a node.
type session struct {
	cancel    context.CancelFunc
	done      chan struct{} // closed when the session has ended
	transport string        // tunnel.TransportWebSocket or tunnel.TransportQUIC
}

// sentAt is when a sequenced message was handed to the session's writer.
type sentAt struct {
	seq uint64
	at  time.Time
}

// node is the hub's state for one edge node. It is the Outbox of the
// node's live session.
type node struct {
	name    string
	ready   tunnel.Wakeup // wakes the session's writer
	metrics *Metrics

	// mu guards the fields below. Lock order: Hub.mu before node.mu.
	mu       sync.Mutex
	out      *objsync.Outbound
	statusIn objsync.Inbound
	filter   *objsync.StatusFilter
	// control holds unsequenced messages for the edge, in order.
	control []message.Message
	// ackDue says the writer owes the edge an ack of statusIn.Last().
	ackDue bool
	// requests are cloud requests forwarded to the edge and not yet
	// answered, by ID, with their expiry.
	requests map[string]time.Time
	session  *session
	// sent holds the sequenced messages of this session awaiting the
	// edge's ack, oldest first (at most the sync window), for the ack
	// latency.
	sent []sentAt
	// depth is the node's queue depth series while it has a session.
	depth prometheus.Gauge
	// hadSession says the node has had a session in this process.
	hadSession bool
}

func newNode(name string, window int, metrics *Metrics) *node {
	return &node{
		name:     name,
		ready:    tunnel.NewWakeup(),
		metrics:  metrics,
		out:      objsync.NewOutbound(Name, window),
		filter:   objsync.NewStatusFilter(0),
		requests: make(map[string]time.Time),
	}
}

func (n *node) wake() { n.ready.Wake() }

// Ready implements tunnel.Outbox.
func (n *node) Ready() <-chan struct{} { return n.ready }

// Pull implements tunnel.Outbox: an ack first, then unsequenced messages,
// then sync messages while the window has room.
func (n *node) Pull(buf []message.Message, max int) []message.Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ackDue {
		buf = append(buf, tunnel.Ack(Name, n.statusIn.Last()))
		n.ackDue = false
	}
	buf = tunnel.TakeFront(buf, &n.control, max-len(buf))
	now := time.Now()
	for len(buf) < max {
		m, ok := n.out.Next()
		if !ok {
			break
		}
		m.Header.Timestamp = now.UnixMilli()
		buf = append(buf, m)
		n.sent = append(n.sent, sentAt{seq: m.Header.Seq, at: now})
	}
	n.updateDepthLocked()
	return buf
}

// updateDepthLocked sets the queue depth series, if the node has a session,
// to what waits for its writer: unsequenced messages and the desired-set
// keys still to send.
func (n *node) updateDepthLocked() {
	if n.depth != nil {
		n.depth.Set(float64(len(n.control) + n.out.Queued()))
	}
}

func (n *node) hasSession() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.session != nil
}

func (n *node) inSync() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.session != nil && n.out.InSync()
}

// set puts obj in the desired set.
func (n *node) set(obj objsync.Object) {
	n.mu.Lock()
	due := n.out.Set(obj)
	n.updateDepthLocked()
	n.mu.Unlock()
	if due {
		n.wake()
	}
}

// remove takes key out of the desired set.
func (n *node) remove(key message.Resource) {
	n.mu.Lock()
	due := n.out.Delete(key)
	n.updateDepthLocked()
	n.mu.Unlock()
	if due {
		n.wake()
	}
}

// connect starts s's sync with the edge's manifest, if s is still the
// node's session.
func (n *node) connect(s *session, manifest []objsync.Entry) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.session != s {
		return false
	}
	n.out.Connect(manifest)
	n.statusIn.Reset()
	n.control, n.ackDue = n.control[:0], false
	clear(n.requests)
	n.sent = n.sent[:0]
	n.updateDepthLocked()
	n.wake()
	return true
}

// ack takes the edge's ack of sync messages, observing each newly acked
// message's latency.
func (n *node) ack(seq uint64) error {
	n.mu.Lock()
	err := n.out.Ack(seq)
	if err == nil {
		n.observeAckedLocked(seq, time.Now())
	}
	n.mu.Unlock()
	n.wake()
	return err
}

// observeAckedLocked observes the latency of the sent messages up to seq
// and forgets them.
func (n *node) observeAckedLocked(seq uint64, now time.Time) {
	i := 0
	for i < len(n.sent) && n.sent[i].seq <= seq {
		n.metrics.ackLatency.Observe(now.Sub(n.sent[i].at).Seconds())
		i++
	}
	if i > 0 {
		n.sent = append(n.sent[:0], n.sent[i:]...)
	}
}

// checkStatus sequences a status from the edge: deliver says it is new and
// newer than any delivered for its key.
func (n *node) checkStatus(m message.Message) (deliver bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fresh, err := n.statusIn.Check(m.Header.Seq)
	if err != nil || !fresh {
		return false, err
	}
	return n.filter.Admit(m), nil
}

// ackStatus has the writer acknowledge every status checked so far.
func (n *node) ackStatus() {
	n.mu.Lock()
	n.ackDue = true
	n.mu.Unlock()
	n.wake()
}

// enqueue queues an unsequenced message for the live session; it reports
// false when there is none or the queue is full.
func (n *node) enqueue(m message.Message) bool {
	n.mu.Lock()
	ok := n.session != nil && n.out.Connected() && len(n.control) < maxControl
	if ok {
		n.control = append(n.control, m)
		n.updateDepthLocked()
	}
	n.mu.Unlock()
	if ok {
		n.wake()
	}
	return ok
}

// expectResponse records a request forwarded to the edge; only a response
// to a recorded request is passed on, so one node cannot answer another's.
func (n *node) expectResponse(id string, expiry time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.requests) >= maxControl {
		now := time.Now()
		for k, exp := range n.requests {
			if exp.Before(now) {
				delete(n.requests, k)
			}
		}
	}
	n.requests[id] = expiry
}

// takeResponse reports whether id names a request awaiting an answer, and
// forgets it.
func (n *node) takeResponse(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.requests[id]
	delete(n.requests, id)
	return ok
}
