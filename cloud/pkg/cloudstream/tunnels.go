package cloudstream

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"

	"github.com/hashicorp/yamux"

	"github.com/tether-edge/tether/common/certs"
)

// errNoTunnel is a dial's error when the node's tunnel went away after the
// request was routed.
var errNoTunnel = errors.New("no stream tunnel")

// errTunnelLost is wrapped by a stream's read error once its session has
// ended: it replaces the io.EOF yamux gives, so that a cut response is an
// error and not a clean end, and tells a spdyGuard why the stream ended.
var errTunnelLost = errors.New("tunnel session closed")

// admitNode names the node of a verified client certificate; a
// certificate that names none is counted as a denial.
func (m *Module) admitNode(peer *x509.Certificate) (string, error) {
	node, err := certs.NodeName(peer)
	if err != nil {
		m.opts.Metrics.deny(DenyCertificate)
	}
	return node, err
}

// tunnels holds each connected node's session.
type tunnels struct {
	log *slog.Logger

	// mu guards sessions.
	mu       sync.Mutex
	sessions map[string]*yamux.Session
}

func newTunnels(log *slog.Logger) *tunnels {
	return &tunnels{log: log, sessions: make(map[string]*yamux.Session)}
}

// handle is streamtunnel's Handle: it registers s as node's session,
// closing the one it replaces, and holds it until it ends or ctx does.
func (t *tunnels) handle(ctx context.Context, node string, s *yamux.Session) {
	t.mu.Lock()
	old := t.sessions[node]
	t.sessions[node] = s
	t.mu.Unlock()
	if old != nil {
		_ = old.Close()
		t.log.Info("stream tunnel replaced by a new one", "node", node)
	}
	t.log.Info("stream tunnel connected", "node", node, "remote", s.RemoteAddr())
	select {
	case <-s.CloseChan():
	case <-ctx.Done():
	}
	t.mu.Lock()
	if t.sessions[node] == s {
		delete(t.sessions, node)
	}
	t.mu.Unlock()
	t.log.Info("stream tunnel disconnected", "node", node)
}

// session returns node's session, or nil.
func (t *tunnels) session(node string) *yamux.Session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sessions[node]
}

// nodes lists the connected nodes, sorted.
func (t *tunnels) nodes() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.sessions))
	for n := range t.sessions {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// dial opens a new stream to node, giving up when ctx ends. Opening waits
// only when many stream opens are unanswered, and for at most the
// session's write and stream-open timeouts.
func (t *tunnels) dial(ctx context.Context, node string) (net.Conn, error) {
	s := t.session(node)
	if s == nil {
		return nil, fmt.Errorf("node %s: %w", node, errNoTunnel)
	}
	type opened struct {
		c   net.Conn
		err error
	}
	ch := make(chan opened, 1)
	// The goroutine ends with Open, which returns at the latest when the
	// session closes.
	go func() {
		c, err := s.Open()
		ch <- opened{c, err}
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, fmt.Errorf("node %s: open a stream: %w", node, o.err)
		}
		return &tunnelConn{Conn: o.c, session: s}, nil
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.c != nil {
				_ = o.c.Close()
			}
		}()
		return nil, fmt.Errorf("node %s: open a stream: %w", node, ctx.Err())
	}
}

// tunnelConn is a stream whose reads fail with errTunnelLost, rather than
// end, once its session has ended: yamux gives io.EOF to the streams of a
// closed session, which would let a response cut by a lost tunnel look
// complete.
type tunnelConn struct {
	net.Conn
	session *yamux.Session
}

func (c *tunnelConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil && c.session.IsClosed() {
		// Not %w for err: an io.EOF must not show through.
		err = fmt.Errorf("%w (stream read: %v)", errTunnelLost, err)
	}
	return n, err
}
