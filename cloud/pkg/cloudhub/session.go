package cloudhub

import (
	"context"
	"fmt"
	"sync"

	"github.com/tether-edge/tether/common/tunnel"
)

// maxRequests bounds the requests from one node being answered at once.
const maxRequests = 64

// handle runs one admitted connection of a node until it ends or is
// replaced by a newer connection of the same node.
func (h *Hub) handle(ctx context.Context, name string, c tunnel.Conn) {
	n := h.node(name)
	sctx, s, err := h.register(ctx, n, c.Transport())
	if err != nil {
		h.log.Info("node refused", "node", name, "err", err)
		c.Close(err.Error())
		return
	}
	defer h.unregister(n, s)

	manifest, err := tunnel.ReadManifest(c, 2*h.opts.KeepalivePeriod)
	if err != nil {
		h.log.Warn("node session failed to start", "node", name, "transport", c.Transport(), "err", err)
		c.Close(err.Error())
		return
	}
	if !n.connect(s, manifest) {
		return // replaced while reading the manifest
	}
	h.log.Info("node connected", "node", name, "transport", c.Transport(), "remote", c.RemoteAddr(), "holds", len(manifest))

	var requests sync.WaitGroup
	defer requests.Wait()
	r := &receiver{hub: h, node: n, requests: &requests, slots: make(chan struct{}, maxRequests)}
	err = tunnel.RunSession(sctx, tunnel.SessionOptions{
		Conn:            c,
		KeepalivePeriod: h.opts.KeepalivePeriod,
		Outbox:          n,
		Receive:         r.receive,
		Source:          Name,
	})
	if err == nil && ctx.Err() == nil {
		err = fmt.Errorf("replaced by a newer session")
	}
	h.log.Info("node disconnected", "node", name, "transport", c.Transport(), "reason", err)
}

// register makes s, over transport, the node's session. A session the
// node already has is cancelled and joined first, so two never run for
// one node.
func (h *Hub) register(ctx context.Context, n *node, transport string) (context.Context, *session, error) {
	sctx, cancel := context.WithCancel(ctx)
	s := &session{cancel: cancel, done: make(chan struct{}), transport: transport}
	h.mu.Lock()
	n.mu.Lock()
	prev := n.session
	full := prev == nil && h.connected >= h.opts.NodeLimit
	if !full {
		n.session = s
		if prev == nil {
			h.connected++
		}
		h.countSessionLocked(n, prev, s)
	}
	n.mu.Unlock()
	h.mu.Unlock()
	if full {
		cancel()
		h.metrics.deny(DenyNodeLimit)
		return nil, nil, fmt.Errorf("%w (%d nodes)", ErrNodeLimit, h.opts.NodeLimit)
	}
	if prev != nil {
		prev.cancel()
		select {
		case <-prev.done:
		case <-ctx.Done():
			h.unregister(n, s)
			return nil, nil, ctx.Err()
		}
	}
	return sctx, s, nil
}

// unregister ends s. If it is still the node's session, the node is
// disconnected: what was in flight is forgotten until the next manifest.
func (h *Hub) unregister(n *node, s *session) {
	s.cancel()
	h.mu.Lock()
	n.mu.Lock()
	if n.session == s {
		n.session = nil
		h.connected--
		n.out.Disconnect()
		n.statusIn.Reset()
		n.control, n.ackDue = nil, false
		clear(n.requests)
		n.sent = nil // an idle node holds no window's worth
		h.metrics.connected.WithLabelValues(s.transport).Dec()
		h.metrics.queueDepth.DeleteLabelValues(n.name)
		n.depth = nil
	}
	n.mu.Unlock()
	h.mu.Unlock()
	close(s.done)
}

// countSessionLocked moves the metrics for s replacing prev (nil when the
// node had no session): connected by transport, a reconnect when the node
// had a session before, and the node's queue depth series, which lives as
// long as the node has a session. Called with h.mu and n.mu held.
func (h *Hub) countSessionLocked(n *node, prev, s *session) {
	m := h.metrics
	if prev != nil {
		m.connected.WithLabelValues(prev.transport).Dec()
	} else {
		n.depth = m.queueDepth.WithLabelValues(n.name)
		n.updateDepthLocked()
	}
	m.connected.WithLabelValues(s.transport).Inc()
	if n.hadSession {
		m.reconnects.Inc()
	}
	n.hadSession = true
}
