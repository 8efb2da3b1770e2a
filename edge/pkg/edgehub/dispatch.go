package edgehub

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
	"github.com/tether-edge/tether/common/tunnel"
)

// maxRequests bounds the cloud requests being answered at once.
const maxRequests = 64

// session runs one connected session until it ends.
func (h *Hub) session(ctx context.Context, c tunnel.Conn, held int) (synced bool, err error) {
	h.link.connect()
	h.metrics.connects.Inc()
	h.metrics.connected.Set(1)
	h.log.Info("cloud connected", "address", h.opts.Address, "transport", c.Transport(), "holds", held)
	h.notify(OpCloudConnected)
	defer func() {
		h.link.disconnect()
		h.metrics.connected.Set(0)
		h.metrics.disconnects.Inc()
		h.notify(OpCloudDisconnected)
	}()

	var requests sync.WaitGroup
	defer requests.Wait()
	r := &receiver{hub: h, requests: &requests, slots: make(chan struct{}, maxRequests)}
	err = tunnel.RunSession(ctx, tunnel.SessionOptions{
		Conn:            c,
		KeepalivePeriod: h.opts.KeepalivePeriod,
		Outbox:          h.link,
		Receive:         r.receive,
		Source:          Name,
	})
	return r.synced, err
}

// receiver handles what one session receives from the cloud.
type receiver struct {
	hub      *Hub
	requests *sync.WaitGroup
	slots    chan struct{}
	synced   bool
}

func (r *receiver) receive(ctx context.Context, m message.Message) error {
	h := r.hub
	switch tunnel.Classify(m) {
	case tunnel.KindAck:
		return h.link.ackStatuses(m.Header.Seq)
	case tunnel.KindManifest:
		return fmt.Errorf("%w: the cloud sent a manifest", objsync.ErrProtocol)
	case tunnel.KindSequenced:
		return r.sync(ctx, m)
	case tunnel.KindResponse:
		if !h.link.takeResponse(m.Header.ParentID) {
			h.log.Debug("dropped a response to no pending request", "parent", m.Header.ParentID)
			return nil
		}
		if err := h.opts.Bus.SendResponse(ctx, m); err != nil {
			h.log.Debug("response not delivered", "to", m.Route.Destination, "err", err)
		}
	case tunnel.KindRequest:
		r.answer(ctx, m)
	default:
		if err := h.deliver(ctx, m); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// sync applies one sync message to the store, then has it acknowledged.
func (r *receiver) sync(ctx context.Context, m message.Message) error {
	h := r.hub
	fresh, err := h.link.checkSync(m.Header.Seq)
	if err != nil {
		return err
	}
	if fresh {
		if m.Route.Operation == objsync.OpSynced {
			r.synced = true
			h.log.Info("in sync with the cloud")
			h.notify(OpCloudSynced)
		} else if err := h.opts.Store.Apply(ctx, m); err != nil {
			return fmt.Errorf("store %s %s: %w", m.Route.Operation, m.Route.Resource, err)
		}
	}
	h.link.ackSync()
	return nil
}

// deliver hands a one-way message from the cloud to the module it names.
func (h *Hub) deliver(ctx context.Context, m message.Message) error {
	err := tunnel.Deliver(ctx, h.opts.Bus, m)
	if err != nil {
		h.log.Warn("dropped a message from the cloud", "to", m.Route.Destination, "group", m.Route.Group, "op", m.Route.Operation, "err", err)
	}
	return err
}

// answer forwards a cloud request to an edge module in a goroutine of the
// session and queues the answer.
func (r *receiver) answer(ctx context.Context, m message.Message) {
	h := r.hub
	select {
	case r.slots <- struct{}{}:
	default:
		h.link.reply(reply(m, m.Response(Name, message.OpError, []byte("edgehub: too many requests in flight"))))
		return
	}
	r.requests.Add(1)
	go func() {
		defer r.requests.Done()
		defer func() { <-r.slots }()
		fwd := tunnel.ForPeerBus(m)
		fwd.Header.ID = message.NewID()
		fwd.Route.Source = Name
		resp, err := h.opts.Bus.SendSync(ctx, fwd, h.opts.RequestTimeout)
		if err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return
			}
			resp = m.Response(Name, message.OpError, []byte(fmt.Sprintf("edgehub: %v", err)))
		}
		h.link.reply(reply(m, resp))
	}()
}

// reply addresses resp as the answer to the cloud's request m.
func reply(m, resp message.Message) message.Message {
	resp.Header.ParentID = m.Header.ID
	resp.Route.Destination = m.Route.Source
	return resp
}

// busLoop takes what edge modules send to the hub until ctx ends.
func (h *Hub) busLoop(ctx context.Context) error {
	for {
		m, err := h.opts.Bus.Receive(ctx, Name)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("edgehub: receive: %w", err)
		}
		if m.Header.Sync {
			h.forwardRequest(ctx, m)
			continue
		}
		h.link.putStatus(m)
	}
}

// forwardRequest sends an edge module's request to the cloud, or answers
// at once that the cloud is away.
func (h *Hub) forwardRequest(ctx context.Context, m message.Message) {
	if h.link.request(m) {
		return
	}
	resp := m.Response(Name, message.OpError, []byte("edgehub: the cloud is not connected"))
	if err := h.opts.Bus.SendResponse(ctx, resp); err != nil {
		h.log.Debug("error response not delivered", "to", m.Route.Source, "err", err)
	}
}
