package cloudhub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
	"github.com/tether-edge/tether/common/tunnel"
)

// busLoop takes what cloud modules send to the hub until ctx ends.
func (h *Hub) busLoop(ctx context.Context) error {
	for {
		m, err := h.opts.Bus.Receive(ctx, Name)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("cloudhub: receive: %w", err)
		}
		h.down(ctx, m)
	}
}

// down handles one message from a cloud module for an edge node.
func (h *Hub) down(ctx context.Context, m message.Message) {
	res := m.Route.Resource
	if res.Node == "" {
		h.log.Warn("dropped a message that names no node", "from", m.Route.Source, "op", m.Route.Operation, "resource", res)
		h.refuse(ctx, m, "cloudhub: the resource names no node")
		return
	}
	n := h.node(res.Node)
	switch {
	case m.Header.Sync:
		h.forwardRequest(ctx, n, m)
	case m.Route.Operation == message.OpInsert || m.Route.Operation == message.OpUpdate:
		obj, err := objsync.ObjectFrom(m)
		if err != nil {
			h.log.Warn("dropped an object that does not decode", "from", m.Route.Source, "resource", res, "err", err)
			return
		}
		n.set(obj)
	case m.Route.Operation == message.OpDelete:
		n.remove(res.WithoutNode())
	default:
		m.Route.Resource = res.WithoutNode()
		if !n.enqueue(m) {
			h.log.Debug("dropped a one-way message: node not connected or busy", "node", n.name, "op", m.Route.Operation)
		}
	}
}

// forwardRequest sends a cloud module's request to the edge; the edge's
// response comes back through receiver.receive.
func (h *Hub) forwardRequest(ctx context.Context, n *node, m message.Message) {
	fwd := m
	fwd.Route.Resource = m.Route.Resource.WithoutNode()
	n.expectResponse(m.Header.ID, time.Now().Add(h.opts.RequestTimeout))
	if !n.enqueue(fwd) {
		n.takeResponse(m.Header.ID)
		h.refuse(ctx, m, fmt.Sprintf("cloudhub: node %s is not connected", n.name))
	}
}

// refuse answers a request with an error; other messages get nothing.
func (h *Hub) refuse(ctx context.Context, m message.Message, reason string) {
	if !m.Header.Sync {
		return
	}
	if err := h.opts.Bus.SendResponse(ctx, m.Response(Name, message.OpError, []byte(reason))); err != nil {
		h.log.Debug("error response not delivered", "to", m.Route.Source, "err", err)
	}
}

// receiver handles what one session of a node receives.
type receiver struct {
	hub      *Hub
	node     *node
	requests *sync.WaitGroup
	slots    chan struct{} // bounds requests being answered
}

func (r *receiver) receive(ctx context.Context, m message.Message) error {
	switch tunnel.Classify(m) {
	case tunnel.KindAck:
		return r.node.ack(m.Header.Seq)
	case tunnel.KindManifest:
		return fmt.Errorf("%w: a second manifest", objsync.ErrProtocol)
	case tunnel.KindSequenced:
		deliver, err := r.node.checkStatus(m)
		if err != nil {
			return err
		}
		if deliver {
			if err := r.hub.deliver(ctx, r.node, m); err != nil {
				return err
			}
		}
		r.node.ackStatus()
	case tunnel.KindResponse:
		if !r.node.takeResponse(m.Header.ParentID) {
			r.hub.log.Debug("dropped a response to no request of this node", "node", r.node.name, "parent", m.Header.ParentID)
			return nil
		}
		m.Route.Resource = m.Route.Resource.OnNode(r.node.name)
		if err := r.hub.opts.Bus.SendResponse(ctx, m); err != nil {
			r.hub.log.Debug("response not delivered", "node", r.node.name, "err", err)
		}
	case tunnel.KindRequest:
		r.answer(ctx, m)
	default:
		return r.hub.deliver(ctx, r.node, m)
	}
	return nil
}

// deliver hands a message from the edge to the cloud module it names. It
// fails only when ctx ends; an unknown module is logged and dropped.
func (h *Hub) deliver(ctx context.Context, n *node, m message.Message) error {
	m.Route.Resource = m.Route.Resource.OnNode(n.name)
	if err := tunnel.Deliver(ctx, h.opts.Bus, m); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		h.log.Warn("dropped a message from the edge", "node", n.name, "to", destination(m), "op", m.Route.Operation, "err", err)
	}
	return nil
}

func destination(m message.Message) string {
	if m.Route.Group != "" {
		return "group " + m.Route.Group
	}
	return m.Route.Destination
}

// answer forwards an edge module's request to the cloud module it names,
// in a goroutine of the session, and queues the answer for the edge.
func (r *receiver) answer(ctx context.Context, m message.Message) {
	select {
	case r.slots <- struct{}{}:
	default:
		r.reply(m, m.Response(Name, message.OpError, []byte("cloudhub: too many requests in flight")))
		return
	}
	r.requests.Add(1)
	go func() {
		defer r.requests.Done()
		defer func() { <-r.slots }()
		fwd := tunnel.ForPeerBus(m)
		fwd.Header.ID = message.NewID() // the edge's ID must not collide with the cloud's
		fwd.Route.Source = Name
		fwd.Route.Resource = m.Route.Resource.OnNode(r.node.name)
		resp, err := r.hub.opts.Bus.SendSync(ctx, fwd, r.hub.opts.RequestTimeout)
		if err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return
			}
			resp = m.Response(Name, message.OpError, []byte(fmt.Sprintf("cloudhub: %s: %v", destination(m), err)))
		}
		r.reply(m, resp)
	}()
}

// reply queues resp as the answer to the edge's request m.
func (r *receiver) reply(m, resp message.Message) {
	resp.Header.ParentID = m.Header.ID
	resp.Route.Destination = m.Route.Source
	resp.Route.Resource = resp.Route.Resource.WithoutNode()
	if !r.node.enqueue(resp) {
		r.hub.log.Debug("response to the edge dropped", "node", r.node.name)
	}
}
