package simulator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/tunnel"
)

// Source is Route.Source of what simulated nodes send, as edgehub's.
const Source = "edgehub"

// Options configure Start.
type Options struct {
	// Address is cloudcore's WebSocket host:port. Required.
	Address string
	// ServerName is the name cloudcore's serving certificate must carry.
	// Default "127.0.0.1".
	ServerName string
	// Roots verify cloudcore's serving certificate. Required.
	Roots *x509.CertPool
	// Certs are the nodes' client certificates, one node each; the node's
	// name is the CN (certs.NodeName). Required, at least one.
	Certs []tls.Certificate
	// DialConcurrency bounds the dials (TCP, TLS and WebSocket handshakes)
	// in progress across all nodes. Default 64.
	DialConcurrency int
	// KeepalivePeriod is the session's keepalive period. Default 15s, as
	// edgecore's.
	KeepalivePeriod time.Duration
	// ReconnectInitial and ReconnectMax bound the back-off. Defaults 1s
	// and 30s, as edgecore's.
	ReconnectInitial, ReconnectMax time.Duration
	// Jitter returns a number in [0, 1); nil means math/rand/v2.
	Jitter func() float64
	// Logger receives each session's end at debug level; nil discards.
	Logger *slog.Logger
}

func (o *Options) validate() error {
	switch {
	case o.Address == "":
		return errors.New("simulator: Address is required")
	case o.Roots == nil:
		return errors.New("simulator: Roots is required")
	case len(o.Certs) == 0:
		return errors.New("simulator: Certs must hold at least one certificate")
	}
	if o.ServerName == "" {
		o.ServerName = "127.0.0.1"
	}
	if o.DialConcurrency <= 0 {
		o.DialConcurrency = 64
	}
	if o.KeepalivePeriod <= 0 {
		o.KeepalivePeriod = 15 * time.Second
	}
	if o.ReconnectInitial <= 0 {
		o.ReconnectInitial = time.Second
	}
	if o.ReconnectMax <= 0 {
		o.ReconnectMax = 30 * time.Second
	}
	if o.ReconnectMax < o.ReconnectInitial {
		return fmt.Errorf("simulator: ReconnectMax %v is below ReconnectInitial %v", o.ReconnectMax, o.ReconnectInitial)
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

// Stats are the simulator's counters at one moment.
type Stats struct {
	// Nodes is how many nodes are simulated.
	Nodes int
	// Connected is how many nodes have a live session (manifest sent).
	Connected int
	// Synced is how many live sessions have received their OpSynced marker.
	Synced int
	// Sessions is how many sessions have started, ever.
	Sessions int64
	// DialErrors is how many dials have failed, ever (refused, timed out).
	DialErrors int64
}

func (s Stats) String() string {
	return fmt.Sprintf("%d nodes: %d connected, %d synced; %d sessions, %d failed dials",
		s.Nodes, s.Connected, s.Synced, s.Sessions, s.DialErrors)
}

// Simulator is a running set of simulated nodes.
type Simulator struct {
	opts   Options
	dials  chan struct{} // semaphore of DialConcurrency slots
	cancel context.CancelFunc
	wg     sync.WaitGroup

	connected, synced      atomic.Int32
	sessions, dialFailures atomic.Int64
}

// Start validates o and starts every node connecting in the background; it
// returns without waiting for any connection. Stop ends them.
func Start(o Options) (*Simulator, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	nodes := make([]*node, len(o.Certs))
	for i, cert := range o.Certs {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("simulator: certificate %d: %w", i, err)
		}
		name, err := certs.NodeName(leaf)
		if err != nil {
			return nil, fmt.Errorf("simulator: certificate %d: %w", i, err)
		}
		nodes[i] = &node{name: name, tls: &tls.Config{
			RootCAs:      o.Roots,
			ServerName:   o.ServerName,
			MinVersion:   tls.VersionTLS13,
			Certificates: []tls.Certificate{cert},
		}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Simulator{opts: o, dials: make(chan struct{}, o.DialConcurrency), cancel: cancel}
	for _, n := range nodes {
		s.wg.Go(func() { s.run(ctx, n) })
	}
	return s, nil
}

// Stop cancels every node and waits until each has closed its connection
// and every goroutine has returned. Safe to call more than once.
func (s *Simulator) Stop() {
	s.cancel()
	s.wg.Wait()
}

// Stats returns the counters.
func (s *Simulator) Stats() Stats {
	return Stats{
		Nodes:      len(s.opts.Certs),
		Connected:  int(s.connected.Load()),
		Synced:     int(s.synced.Load()),
		Sessions:   s.sessions.Load(),
		DialErrors: s.dialFailures.Load(),
	}
}

// node is one simulated edge node.
type node struct {
	name string
	tls  *tls.Config
}

// run keeps n connected until ctx ends, backing off between sessions.
func (s *Simulator) run(ctx context.Context, n *node) {
	b := &tunnel.Backoff{Initial: s.opts.ReconnectInitial, Max: s.opts.ReconnectMax, Jitter: s.opts.Jitter}
	for {
		synced, err := s.runOnce(ctx, n)
		if ctx.Err() != nil {
			return
		}
		if synced {
			b.Reset()
		}
		s.opts.Logger.Debug("simulated session ended", "node", n.name, "synced", synced, "err", err)
		if !b.Wait(ctx) {
			return
		}
	}
}

// runOnce dials, sends the manifest and runs one session until it ends;
// synced says the session received its OpSynced marker.
func (s *Simulator) runOnce(ctx context.Context, n *node) (synced bool, err error) {
	c, err := s.dial(ctx, n)
	if err != nil {
		if ctx.Err() == nil {
			s.dialFailures.Add(1)
		}
		return false, err
	}
	if err := writeManifest(c, s.opts.KeepalivePeriod); err != nil {
		c.Close("write manifest")
		return false, err
	}
	s.sessions.Add(1)
	s.connected.Add(1)
	defer s.connected.Add(-1)
	sess := newSession(func() { s.synced.Add(1) })
	defer func() {
		if sess.synced() {
			s.synced.Add(-1)
		}
	}()
	err = tunnel.RunSession(ctx, tunnel.SessionOptions{
		Conn:            c,
		KeepalivePeriod: s.opts.KeepalivePeriod,
		Outbox:          sess,
		Receive:         sess.receive,
		Source:          Source,
	})
	return sess.synced(), err
}

// dial connects n, holding one of the dial slots while it does.
func (s *Simulator) dial(ctx context.Context, n *node) (tunnel.Conn, error) {
	select {
	case s.dials <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.dials }()
	timeout := 2 * s.opts.KeepalivePeriod
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return tunnel.DialWebSocket(dctx, s.opts.Address, tunnel.DialOptions{TLS: n.tls, IdleTimeout: timeout})
}

// writeManifest sends the session's first message: an empty manifest (the
// node holds nothing).
func writeManifest(c tunnel.Conn, timeout time.Duration) error {
	m, err := tunnel.Manifest(Source, nil)
	if err != nil {
		return err
	}
	if err := c.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	if err := c.Write([]message.Message{m}); err != nil {
		return fmt.Errorf("send manifest: %w", err)
	}
	return nil
}
