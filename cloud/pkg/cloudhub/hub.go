package cloudhub

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/tunnel"
	"github.com/tether-edge/tether/common/wire"
)

// Name is the module's name on the bus: cloud modules send to it.
const Name = "cloudhub"

// ErrNodeLimit refuses a node when NodeLimit nodes are connected.
var ErrNodeLimit = fmt.Errorf("%w: node limit reached", tunnel.ErrUnavailable)

// ErrNotReady refuses a node until Options.Ready is closed.
var ErrNotReady = fmt.Errorf("%w: desired sets are still loading", tunnel.ErrUnavailable)

// Bus is what the hub needs of beehive.Bus.
type Bus interface {
	Receive(ctx context.Context, module string) (message.Message, error)
	Send(ctx context.Context, m message.Message) error
	SendToGroup(ctx context.Context, m message.Message) error
	SendSync(ctx context.Context, m message.Message, timeout time.Duration) (message.Message, error)
	SendResponse(ctx context.Context, resp message.Message) error
}

// Options configure a Hub.
type Options struct {
	// Bus is required.
	Bus Bus
	// ServerCert is the hub's serving certificate; required.
	ServerCert tls.Certificate
	// ClientCAs verify node certificates; required.
	ClientCAs *x509.CertPool
	// WebSocketAddress and QUICAddress are host:port to listen on; empty
	// disables that transport. At least one is required.
	WebSocketAddress string
	QUICAddress      string
	// NodeLimit is how many nodes may be connected at once; required > 0.
	NodeLimit int
	// KeepalivePeriod: a keepalive after this long without writing; a node
	// silent for twice as long is dropped. Required > 0.
	KeepalivePeriod time.Duration
	// SyncWindow is how many sync messages may await a node's ack; 0 means
	// objsync.DefaultWindow.
	SyncWindow int
	// RequestTimeout bounds a request from an edge to a cloud module; required > 0.
	RequestTimeout time.Duration
	// Codec limits frame sizes; the zero value is the default.
	Codec wire.Codec
	// Logger is required.
	Logger *slog.Logger
	// Ready gates admission: until it is closed the hub refuses every node
	// with ErrNotReady (a tunnel.ErrUnavailable, "desired sets are still
	// loading"), which the edge treats as try-later, so that no node's
	// manifest is compared with a desired set still being filled after a
	// cloudcore start. Nil means ready at once. cloudcore passes
	// EdgeController's Synced.
	Ready <-chan struct{}
	// Metrics receive the hub's measurements; nil means NewMetrics of a
	// private registry (nothing is exported).
	Metrics *Metrics
}

func (o *Options) validate() error {
	var errs []error
	if o.Bus == nil || o.Logger == nil || o.ClientCAs == nil || len(o.ServerCert.Certificate) == 0 {
		errs = append(errs, errors.New("Bus, Logger, ClientCAs and ServerCert are required"))
	}
	if o.WebSocketAddress == "" && o.QUICAddress == "" {
		errs = append(errs, errors.New("set WebSocketAddress, QUICAddress or both"))
	}
	if o.NodeLimit < 1 || o.KeepalivePeriod <= 0 || o.RequestTimeout <= 0 {
		errs = append(errs, errors.New("NodeLimit, KeepalivePeriod and RequestTimeout must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cloudhub: %w", err)
	}
	return nil
}

// Hub is the cloudhub module.
type Hub struct {
	opts    Options
	log     *slog.Logger
	metrics *Metrics

	// mu guards the fields below it.
	mu sync.Mutex
	// nodes holds every node the hub has heard of, connected or not.
	nodes map[string]*node
	// connected counts nodes with a live session.
	connected int
	// ws and quic are bound by New and taken over by Start; a restarted
	// Start binds them again.
	ws   net.Listener
	quic net.PacketConn
}

// New validates o and binds the listeners, so an address in use is
// reported before anything starts.
func New(o Options) (*Hub, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	h := &Hub{opts: o, log: o.Logger.With("module", Name), metrics: o.Metrics, nodes: make(map[string]*node)}
	if err := h.bindLocked(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Hub) bindLocked() error {
	if h.opts.WebSocketAddress != "" && h.ws == nil {
		ln, err := net.Listen("tcp", h.opts.WebSocketAddress)
		if err != nil {
			return fmt.Errorf("cloudhub: listen websocket: %w", err)
		}
		h.ws = ln
	}
	if h.opts.QUICAddress != "" && h.quic == nil {
		pc, err := net.ListenPacket("udp", h.opts.QUICAddress)
		if err != nil {
			return fmt.Errorf("cloudhub: listen quic: %w", err)
		}
		h.quic = pc
	}
	return nil
}

// Name implements beehive.Module.
func (h *Hub) Name() string { return Name }

// Group implements beehive.Module.
func (h *Hub) Group() string { return "hub" }

// WebSocketAddr and QUICAddr are the bound addresses (nil when disabled).
func (h *Hub) WebSocketAddr() net.Addr {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ws == nil {
		return nil
	}
	return h.ws.Addr()
}

// QUICAddr is the bound QUIC address (nil when disabled).
func (h *Hub) QUICAddr() net.Addr {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.quic == nil {
		return nil
	}
	return h.quic.LocalAddr()
}

// Start serves both transports and the bus until ctx ends.
func (h *Hub) Start(ctx context.Context) error {
	h.mu.Lock()
	if err := h.bindLocked(); err != nil {
		h.mu.Unlock()
		return err
	}
	ws, pc := h.ws, h.quic
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.ws, h.quic = nil, nil
		h.mu.Unlock()
	}()

	server := tunnel.ServerOptions{
		TLS:         h.serverTLS(),
		Codec:       h.opts.Codec,
		Logger:      h.log,
		Admit:       h.admit,
		Handle:      h.handle,
		IdleTimeout: 2 * h.opts.KeepalivePeriod,
		Meter:       &h.metrics.tunnel,
	}
	g, gctx := errgroup.WithContext(ctx)
	if ws != nil {
		g.Go(func() error { return tunnel.ServeWebSocket(gctx, ws, server) })
	}
	if pc != nil {
		g.Go(func() error { return tunnel.ServeQUIC(gctx, pc, server) })
	}
	g.Go(func() error { return h.busLoop(gctx) })
	h.log.Info("serving edge nodes", "websocket", addrString(ws), "quic", pcString(pc))
	err := g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (h *Hub) serverTLS() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{h.opts.ServerCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    h.opts.ClientCAs,
		MinVersion:   tls.VersionTLS13,
	}
}

// admit names the node a verified certificate belongs to, and refuses it
// until the desired sets are loaded, and when the hub is full (unless it
// replaces the node's own session). Each refusal is counted.
func (h *Hub) admit(peer *x509.Certificate) (string, error) {
	name, err := certs.NodeName(peer)
	if err != nil {
		h.metrics.deny(DenyCertificate)
		return "", err
	}
	if !h.ready() {
		h.metrics.deny(DenyNotReady)
		return "", ErrNotReady
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := h.nodes[name]; (n == nil || !n.hasSession()) && h.connected >= h.opts.NodeLimit {
		h.metrics.deny(DenyNodeLimit)
		return "", fmt.Errorf("%w (%d nodes)", ErrNodeLimit, h.opts.NodeLimit)
	}
	return name, nil
}

// ready reports whether Options.Ready is nil or closed.
func (h *Hub) ready() bool {
	if h.opts.Ready == nil {
		return true
	}
	select {
	case <-h.opts.Ready:
		return true
	default:
		return false
	}
}

// node returns the state of the named node, creating it on first use.
func (h *Hub) node(name string) *node {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.nodes[name]
	if n == nil {
		n = newNode(name, h.opts.SyncWindow, h.metrics)
		h.nodes[name] = n
	}
	return n
}

// Connected lists the nodes with a live session.
func (h *Hub) Connected() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for name, n := range h.nodes {
		if n.hasSession() {
			out = append(out, name)
		}
	}
	return out
}

// InSync reports whether node is connected and holds its whole desired set.
func (h *Hub) InSync(node string) bool {
	h.mu.Lock()
	n := h.nodes[node]
	h.mu.Unlock()
	return n != nil && n.inSync()
}

func addrString(ln net.Listener) string {
	if ln == nil {
		return "off"
	}
	return ln.Addr().String()
}

func pcString(pc net.PacketConn) string {
	if pc == nil {
		return "off"
	}
	return pc.LocalAddr().String()
}
