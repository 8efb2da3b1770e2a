package edgehub

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
	"github.com/tether-edge/tether/common/tunnel"
)

// maxControl bounds the unsequenced messages waiting for the writer.
const maxControl = 1024

// link is the edge's side of the sync state. It outlives sessions (kept
// statuses survive disconnects) and is the Outbox of the live one.
type link struct {
	ready   tunnel.Wakeup // wakes the writer
	limiter *rate.Limiter

	// mu guards the fields below.
	mu        sync.Mutex
	connected bool
	syncIn    objsync.Inbound
	statuses  *objsync.StatusQueue
	// ackDue says the writer owes the cloud an ack of syncIn.Last().
	ackDue bool
	// replies are responses to cloud requests; exempt from the bucket.
	replies []message.Message
	// upstream are requests to cloud modules, limited by the bucket.
	upstream []message.Message
	// requests are edge requests sent to the cloud and not yet answered.
	requests map[string]struct{}
	// refill is armed when the bucket ran dry with messages waiting.
	refill *time.Timer
}

func newLink(window int, limiter *rate.Limiter) *link {
	return &link{
		ready:    tunnel.NewWakeup(),
		limiter:  limiter,
		statuses: objsync.NewStatusQueue(window),
		requests: make(map[string]struct{}),
	}
}

func (l *link) wake() { l.ready.Wake() }

// Ready implements tunnel.Outbox.
func (l *link) Ready() <-chan struct{} { return l.ready }

// Pull implements tunnel.Outbox: the ack, replies, then requests and
// statuses as far as the token bucket allows.
func (l *link) Pull(buf []message.Message, max int) []message.Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ackDue {
		buf = append(buf, tunnel.Ack(Name, l.syncIn.Last()))
		l.ackDue = false
	}
	buf = tunnel.TakeFront(buf, &l.replies, max-len(buf))

	now := time.Now()
	budget := min(int(l.limiter.TokensAt(now)), max-len(buf))
	n := len(buf)
	buf = tunnel.TakeFront(buf, &l.upstream, budget)
	for len(buf)-n < budget {
		m, ok := l.statuses.Next()
		if !ok {
			break
		}
		buf = append(buf, m)
	}
	if sent := len(buf) - n; sent > 0 {
		l.limiter.AllowN(now, sent)
	}
	if len(buf)-n == budget && budget < max {
		l.armRefillLocked()
	}
	return buf
}

// armRefillLocked wakes the writer when the bucket has a token again, in
// case messages are waiting for one.
func (l *link) armRefillLocked() {
	if l.refill != nil {
		return
	}
	every := time.Duration(float64(time.Second) / float64(l.limiter.Limit()))
	l.refill = time.AfterFunc(max(every, time.Millisecond), func() {
		l.mu.Lock()
		l.refill = nil
		l.mu.Unlock()
		l.wake()
	})
}

// connect starts a session.
func (l *link) connect() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.connected = true
	l.syncIn.Reset()
	l.statuses.Connect()
	l.ackDue = false
	l.wake()
}

// disconnect ends the session; statuses stay, requests in flight are lost.
func (l *link) disconnect() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.connected = false
	l.statuses.Disconnect()
	l.replies, l.upstream = nil, nil
	clear(l.requests)
	if l.refill != nil {
		l.refill.Stop()
		l.refill = nil
	}
}

// putStatus keeps m as the latest status for its resource.
func (l *link) putStatus(m message.Message) {
	l.mu.Lock()
	kept := l.statuses.Put(m)
	l.mu.Unlock()
	if kept {
		l.wake()
	}
}

// request queues an edge request for the cloud; false without a session.
func (l *link) request(m message.Message) bool {
	l.mu.Lock()
	ok := l.connected && len(l.upstream) < maxControl
	if ok {
		l.upstream = append(l.upstream, m)
		l.requests[m.Header.ID] = struct{}{}
	}
	l.mu.Unlock()
	if ok {
		l.wake()
	}
	return ok
}

// takeResponse reports whether id is an edge request awaiting its answer.
func (l *link) takeResponse(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.requests[id]
	delete(l.requests, id)
	return ok
}

// reply queues an answer to a cloud request.
func (l *link) reply(m message.Message) {
	l.mu.Lock()
	ok := l.connected && len(l.replies) < maxControl
	if ok {
		l.replies = append(l.replies, m)
	}
	l.mu.Unlock()
	if ok {
		l.wake()
	}
}

// checkSync sequences a sync message from the cloud.
func (l *link) checkSync(seq uint64) (fresh bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.syncIn.Check(seq)
}

// ackSync has the writer acknowledge every sync message checked so far.
func (l *link) ackSync() {
	l.mu.Lock()
	l.ackDue = true
	l.mu.Unlock()
	l.wake()
}

// ackStatuses takes the cloud's ack of statuses.
func (l *link) ackStatuses(seq uint64) error {
	l.mu.Lock()
	err := l.statuses.Ack(seq)
	l.mu.Unlock()
	l.wake()
	return err
}

// pendingStatuses is how many statuses await the cloud's ack.
func (l *link) pendingStatuses() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.statuses.Len()
}

// isConnected reports whether a session is running.
func (l *link) isConnected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.connected
}
