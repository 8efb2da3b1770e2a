package edgehub

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/tunnel"
	"github.com/tether-edge/tether/common/wire"
)

// Name is the module's name on the bus: edge modules send to it.
const Name = "edgehub"

// What Subscribers are told.
const (
	OpCloudConnected    message.Operation = "cloud-connected"
	OpCloudSynced       message.Operation = "cloud-synced"
	OpCloudDisconnected message.Operation = "cloud-disconnected"
)

// Bus is what the hub needs of beehive.Bus.
type Bus interface {
	Receive(ctx context.Context, module string) (message.Message, error)
	Send(ctx context.Context, m message.Message) error
	SendToGroup(ctx context.Context, m message.Message) error
	SendSync(ctx context.Context, m message.Message, timeout time.Duration) (message.Message, error)
	SendResponse(ctx context.Context, resp message.Message) error
}

// Certs provides the node's certificate; *certmanager.Manager implements it.
type Certs interface {
	// Bootstrap makes sure a valid certificate exists, joining if needed.
	Bootstrap(ctx context.Context) error
	// ClientTLS is the config for dialing the cloud with the current certificate.
	ClientTLS(serverName string) *tls.Config
	// Run rotates the certificate until ctx ends.
	Run(ctx context.Context) error
}

// Options configure a Hub.
type Options struct {
	// Bus, Store, Certs and Logger are required.
	Bus    Bus
	Store  Store
	Certs  Certs
	Logger *slog.Logger
	// Transport is tunnel.TransportWebSocket or tunnel.TransportQUIC.
	Transport string
	// Address is the cloud's host:port for Transport; ServerName is the name
	// its certificate must carry. Both required.
	Address    string
	ServerName string
	// KeepalivePeriod: a keepalive after this long without writing; the
	// cloud is lost after twice as long without a message. Required > 0.
	KeepalivePeriod time.Duration
	// ReconnectInitial and ReconnectMax bound the back-off; required > 0.
	ReconnectInitial, ReconnectMax time.Duration
	// UpstreamQPS and UpstreamBurst are the token bucket for messages to
	// the cloud; required > 0.
	UpstreamQPS   float64
	UpstreamBurst int
	// StatusWindow: statuses awaiting ack; 0 means objsync.DefaultWindow.
	StatusWindow int
	// RequestTimeout bounds a cloud request forwarded to an edge module and
	// is the default wait for requests to the cloud. Required > 0.
	RequestTimeout time.Duration
	// Subscribers are modules told when the cloud comes and goes. Optional.
	Subscribers []string
	// Codec limits frame sizes; the zero value is the default.
	Codec wire.Codec
	// Jitter returns a number in [0, 1); nil means math/rand/v2.
	Jitter func() float64
	// Metrics receives the tunnel's state; nil means collectors on a
	// registry of their own (measured, never served).
	Metrics *Metrics
}

func (o *Options) validate() error {
	var errs []error
	if o.Bus == nil || o.Store == nil || o.Certs == nil || o.Logger == nil {
		errs = append(errs, errors.New("Bus, Store, Certs and Logger are required"))
	}
	if o.Transport != tunnel.TransportWebSocket && o.Transport != tunnel.TransportQUIC {
		errs = append(errs, fmt.Errorf("unknown transport %q", o.Transport))
	}
	if o.Address == "" || o.ServerName == "" {
		errs = append(errs, errors.New("Address and ServerName are required"))
	}
	if o.KeepalivePeriod <= 0 || o.ReconnectInitial <= 0 || o.ReconnectMax < o.ReconnectInitial || o.RequestTimeout <= 0 {
		errs = append(errs, errors.New("KeepalivePeriod, ReconnectInitial, ReconnectMax (>= initial) and RequestTimeout must be positive"))
	}
	if o.UpstreamQPS <= 0 || o.UpstreamBurst < 1 {
		errs = append(errs, errors.New("UpstreamQPS and UpstreamBurst must be positive"))
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("edgehub: %w", err)
	}
	return nil
}

// Hub is the edgehub module.
type Hub struct {
	opts      Options
	log       *slog.Logger
	metrics   hubMetrics
	link      *link
	notifiers []*notifier
}

// New validates o.
func New(o Options) (*Hub, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	lim := rate.NewLimiter(rate.Limit(o.UpstreamQPS), o.UpstreamBurst)
	h := &Hub{opts: o, log: o.Logger.With("module", Name), link: newLink(o.StatusWindow, lim), metrics: o.Metrics.forTransport(o.Transport)}
	for _, s := range o.Subscribers {
		h.notifiers = append(h.notifiers, newNotifier(s))
	}
	return h, nil
}

// Name implements beehive.Module.
func (h *Hub) Name() string { return Name }

// Group implements beehive.Module.
func (h *Hub) Group() string { return "hub" }

// Connected reports whether a session with the cloud is running.
func (h *Hub) Connected() bool { return h.link.isConnected() }

// Start obtains the certificate, keeps it rotated, keeps a session with the
// cloud, and serves the bus, until ctx ends.
func (h *Hub) Start(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	haveCert := make(chan struct{})
	g.Go(func() error { return h.certificates(gctx, haveCert) })
	g.Go(func() error {
		select {
		case <-haveCert:
			return h.connectLoop(gctx)
		case <-gctx.Done():
			return nil
		}
	})
	g.Go(func() error { return h.busLoop(gctx) })
	for _, n := range h.notifiers {
		g.Go(func() error { return n.run(gctx, h.opts.Bus, h.log) })
	}
	err := g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// certificates bootstraps the node's certificate, retrying while the cloud
// is away, closes haveCert, then rotates it until ctx ends.
func (h *Hub) certificates(ctx context.Context, haveCert chan<- struct{}) error {
	b := h.newBackoff()
	for {
		err := h.opts.Certs.Bootstrap(ctx)
		if err == nil {
			break
		}
		h.log.Warn("no node certificate yet", "err", err)
		if !b.Wait(ctx) {
			return nil
		}
	}
	close(haveCert)
	return h.opts.Certs.Run(ctx)
}

// connectLoop dials and runs sessions until ctx ends.
func (h *Hub) connectLoop(ctx context.Context) error {
	b := h.newBackoff()
	for ctx.Err() == nil {
		synced, err := h.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if synced {
			b.Reset()
		}
		h.log.Warn("cloud connection ended", "address", h.opts.Address, "transport", h.opts.Transport, "err", err)
		if !b.Wait(ctx) {
			return nil
		}
	}
	return nil
}

// runOnce dials and runs one session; synced says the session reached the
// cloud's desired set.
func (h *Hub) runOnce(ctx context.Context) (synced bool, err error) {
	c, held, err := h.open(ctx)
	if err != nil {
		if ctx.Err() == nil {
			h.metrics.connectErrors.Inc()
		}
		return false, err
	}
	return h.session(ctx, c, held)
}

// open dials the cloud and sends the store's manifest, which begins a
// session; held is how many objects the manifest lists.
func (h *Hub) open(ctx context.Context) (c tunnel.Conn, held int, err error) {
	c, err = h.dial(ctx)
	if err != nil {
		return nil, 0, err
	}
	manifest, err := h.opts.Store.Manifest(ctx)
	if err != nil {
		c.Close("edge store unavailable")
		return nil, 0, fmt.Errorf("read manifest: %w", err)
	}
	first, err := tunnel.Manifest(Name, manifest)
	if err != nil {
		c.Close("bad manifest")
		return nil, 0, err
	}
	if err := c.SetWriteDeadline(time.Now().Add(h.opts.KeepalivePeriod)); err != nil {
		c.Close("deadline")
		return nil, 0, err
	}
	if err := c.Write([]message.Message{first}); err != nil {
		c.Close("write manifest")
		return nil, 0, fmt.Errorf("send manifest: %w", err)
	}
	return c, len(manifest), nil
}

func (h *Hub) dial(ctx context.Context) (tunnel.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 2*h.opts.KeepalivePeriod)
	defer cancel()
	o := tunnel.DialOptions{TLS: h.opts.Certs.ClientTLS(h.opts.ServerName), Codec: h.opts.Codec, IdleTimeout: 2 * h.opts.KeepalivePeriod}
	if h.opts.Transport == tunnel.TransportQUIC {
		return tunnel.DialQUIC(dctx, h.opts.Address, o)
	}
	return tunnel.DialWebSocket(dctx, h.opts.Address, o)
}

// notify makes op the cloud state every subscriber is told next.
func (h *Hub) notify(op message.Operation) {
	for _, n := range h.notifiers {
		n.set(op)
	}
}

func (h *Hub) newBackoff() *tunnel.Backoff {
	return &tunnel.Backoff{Initial: h.opts.ReconnectInitial, Max: h.opts.ReconnectMax, Jitter: h.opts.Jitter}
}
