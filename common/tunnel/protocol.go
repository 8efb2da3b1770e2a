package tunnel

import (
	"context"
	"fmt"
	"time"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
)

// Kind is what a message on the tunnel is, to the protocol.
type Kind int

// The kinds, in the order Classify tests them.
const (
	// KindKeepalive proves the peer alive; RunSession consumes it.
	KindKeepalive Kind = iota
	// KindAck acknowledges the receiver's sequenced stream up to Header.Seq.
	KindAck
	// KindManifest is the edge's manifest, the first message of a session.
	KindManifest
	// KindSequenced is part of the sender's reliable stream (Header.Seq > 0):
	// sync messages down, statuses up.
	KindSequenced
	// KindResponse answers a request (Header.ParentID set).
	KindResponse
	// KindRequest waits for a response (Header.Sync set).
	KindRequest
	// KindOneWay is anything else: delivered at most once, never acknowledged.
	KindOneWay
)

// Classify says what m is to the protocol.
func Classify(m message.Message) Kind {
	switch {
	case m.Route.Operation == message.OpKeepalive:
		return KindKeepalive
	case m.Route.Operation == objsync.OpAck:
		return KindAck
	case m.Route.Operation == objsync.OpManifest:
		return KindManifest
	case m.Header.Seq > 0:
		return KindSequenced
	case m.IsResponse():
		return KindResponse
	case m.Header.Sync:
		return KindRequest
	}
	return KindOneWay
}

// Keepalive returns a keepalive from source.
func Keepalive(source string) message.Message {
	return message.Message{Route: message.Route{Source: source, Operation: message.OpKeepalive}}
}

// Ack returns a cumulative acknowledgement of seq from source.
func Ack(source string, seq uint64) message.Message {
	return message.Message{
		Header: message.Header{Seq: seq},
		Route:  message.Route{Source: source, Operation: objsync.OpAck},
	}
}

// Manifest returns the first message of a session: what the edge holds.
func Manifest(source string, entries []objsync.Entry) (message.Message, error) {
	content, err := objsync.EncodeManifest(entries)
	if err != nil {
		return message.Message{}, err
	}
	m := message.New(source, "", objsync.OpManifest, message.Resource{}, content)
	return m, nil
}

// ReadManifest reads the first message of a session, which must be a
// manifest, waiting at most timeout.
func ReadManifest(c Conn, timeout time.Duration) ([]objsync.Entry, error) {
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, fmt.Errorf("set read deadline: %w", err)
	}
	m, err := c.Read()
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	if Classify(m) != KindManifest {
		return nil, fmt.Errorf("first message is %q, want a manifest", m.Route.Operation)
	}
	return objsync.DecodeManifest(m.Content)
}

// ForPeerBus readies a message that crossed the tunnel for the receiving
// side's bus. Modules on one side address the other side's modules through
// their hub: Route.Destination is the hub, Route.Group the group on the far
// side. So a message naming a group goes to that group; one naming none
// keeps its Destination.
func ForPeerBus(m message.Message) message.Message {
	if m.Route.Group != "" {
		m.Route.Destination = ""
	}
	return m
}

// Sender is what Deliver needs of a bus (beehive.Bus has it).
type Sender interface {
	Send(ctx context.Context, m message.Message) error
	SendToGroup(ctx context.Context, m message.Message) error
}

// Deliver hands a message that crossed the tunnel to the group or module it
// names on this side's bus (see ForPeerBus).
func Deliver(ctx context.Context, bus Sender, m message.Message) error {
	m = ForPeerBus(m)
	if m.Route.Group != "" {
		return bus.SendToGroup(ctx, m)
	}
	return bus.Send(ctx, m)
}
