package edgestream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/tether-edge/tether/common/httpserver"

	"github.com/tether-edge/tether/common/streamtunnel"
	"github.com/tether-edge/tether/common/tunnel"
)

// Name is the module's name on the bus. EdgeStream receives no messages.
const Name = "edgestream"

// DefaultReadHeaderTimeout bounds reading a request's header.
const DefaultReadHeaderTimeout = 30 * time.Second

// Certs provides the node's certificate; *certmanager.Manager implements
// it. Until the node has one, dials fail (and are logged at Debug).
type Certs interface {
	// ClientTLS is the config for dialing cloudcore at serverName with
	// the current certificate.
	ClientTLS(serverName string) *tls.Config
}

// Options configure a Module.
type Options struct {
	// Runtime is the node's pods (Edged's StreamRuntime). Required.
	Runtime Runtime
	// Logger is required.
	Logger *slog.Logger
	// Certs gives the TLS config for the stream tunnel. Required.
	Certs Certs
	// TunnelAddress is cloudcore's stream tunnel, host:port
	// (edgeHub.server and edgeHub.ports.stream). Required.
	TunnelAddress string
	// ServerName is the name cloudcore's certificate must carry
	// (edgeHub.server). Required.
	ServerName string
	// LocalAddress is where the handler also listens on this host
	// (edgeStream.address, 127.0.0.1:10350 by default); empty means no
	// local listener.
	LocalAddress string
	// KeepalivePeriod is how often the tunnel pings (edgeHub's);
	// required > 0.
	KeepalivePeriod time.Duration
	// ReconnectInitial and ReconnectMax bound the jittered back-off between
	// dials; required > 0, Max >= Initial.
	ReconnectInitial, ReconnectMax time.Duration
	// ReadHeaderTimeout bounds reading a request's header; zero means
	// DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// Jitter returns a number in [0, 1); nil means math/rand/v2.
	Jitter func() float64
	// ReadLogs reads a log file; nil means logs.Read (tests replace it).
	ReadLogs LogReader
}

func (o *Options) validate() error {
	var errs []error
	if o.Runtime == nil || o.Logger == nil || o.Certs == nil {
		errs = append(errs, errors.New("Runtime, Logger and Certs are required"))
	}
	if o.TunnelAddress == "" || o.ServerName == "" {
		errs = append(errs, errors.New("TunnelAddress and ServerName are required"))
	}
	if o.KeepalivePeriod <= 0 || o.ReconnectInitial <= 0 || o.ReconnectMax < o.ReconnectInitial {
		errs = append(errs, errors.New("KeepalivePeriod, ReconnectInitial and ReconnectMax (>= initial) must be positive"))
	}
	if o.ReadHeaderTimeout < 0 {
		errs = append(errs, errors.New("ReadHeaderTimeout must not be negative"))
	}
	if o.ReadHeaderTimeout == 0 {
		o.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("edgestream: %w", err)
	}
	return nil
}

// Module serves the handler on the stream tunnel and the local address.
type Module struct {
	opts      Options
	log       *slog.Logger
	handler   http.Handler
	connected atomic.Bool
	// local is LocalAddress, bound by New; nil without one.
	local *httpserver.Listener
}

// New validates o, builds the handler and binds LocalAddress, so that an
// address in use is reported before anything starts.
func New(o Options) (*Module, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	log := o.Logger.With("module", Name)
	h, err := NewHandler(HandlerOptions{Runtime: o.Runtime, Logger: log, ReadLogs: o.ReadLogs})
	if err != nil {
		return nil, err
	}
	m := &Module{opts: o, log: log, handler: h}
	if o.LocalAddress != "" {
		if m.local, err = httpserver.Listen(o.LocalAddress); err != nil {
			return nil, fmt.Errorf("edgestream: local server: %w", err)
		}
	}
	return m, nil
}

// Name implements beehive.Module.
func (m *Module) Name() string { return Name }

// Group implements beehive.Module.
func (m *Module) Group() string { return "stream" }

// Connected reports whether the stream tunnel to cloudcore is up.
func (m *Module) Connected() bool { return m.connected.Load() }

// Start serves on LocalAddress (an error if it cannot bind it again after
// a restart), keeps the stream tunnel to cloudcore up, and serves the handler on both until ctx ends.
// It returns after every request it served has ended.
func (m *Module) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reqs := &httpserver.Handlers{}
	defer reqs.StopAndWait()
	var wg sync.WaitGroup
	defer wg.Wait()
	if m.local != nil {
		ln, err := m.local.Bind()
		if err != nil {
			return fmt.Errorf("edgestream: local server: %w", err)
		}
		defer m.local.Close()
		srv := m.newServer(ctx, reqs)
		m.log.Info("serving container logs and exec locally", "address", ln.Addr().String())
		wg.Go(func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				m.log.Error("local stream server stopped", "err", err)
			}
		})
		defer srv.Close()
	}
	m.tunnelLoop(ctx, reqs)
	return nil
}

// newServer is an http.Server for the handler whose requests see ctx end
// (a followed log stops, a proxied stream is cut).
func (m *Module) newServer(ctx context.Context, reqs *httpserver.Handlers) *http.Server {
	return &http.Server{
		Handler:           reqs.Wrap(m.handler, "edgestream is stopping"),
		ReadHeaderTimeout: m.opts.ReadHeaderTimeout,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
	}
}

// tunnelLoop dials cloudcore's stream tunnel and serves each session until
// it ends, then dials again after a back-off, until ctx ends.
func (m *Module) tunnelLoop(ctx context.Context, reqs *httpserver.Handlers) {
	b := &tunnel.Backoff{Initial: m.opts.ReconnectInitial, Max: m.opts.ReconnectMax, Jitter: m.opts.Jitter}
	connectedOnce, loggedDown := false, false
	for ctx.Err() == nil {
		s, err := streamtunnel.Dial(ctx, m.opts.TunnelAddress, streamtunnel.DialOptions{
			TLS:             m.opts.Certs.ClientTLS(m.opts.ServerName),
			KeepalivePeriod: m.opts.KeepalivePeriod,
			Logger:          m.log,
		})
		switch {
		case ctx.Err() != nil:
			if s != nil {
				_ = s.Close()
			}
			return
		case err == nil:
			b.Reset()
			connectedOnce, loggedDown = true, false
			m.log.Info("stream tunnel connected", "address", m.opts.TunnelAddress)
			m.serveSession(ctx, s, reqs)
			if ctx.Err() == nil {
				m.log.Warn("stream tunnel closed; reconnecting", "address", m.opts.TunnelAddress)
			}
		case errors.Is(err, streamtunnel.ErrRefused):
			m.log.Warn("stream tunnel refused by cloudcore", "address", m.opts.TunnelAddress, "err", err)
		case !connectedOnce || loggedDown:
			// Before the first success the node may have no certificate yet.
			m.log.Debug("stream tunnel not connected", "address", m.opts.TunnelAddress, "err", err)
		default:
			loggedDown = true
			m.log.Warn("stream tunnel not connected", "address", m.opts.TunnelAddress, "err", err)
		}
		if !b.Wait(ctx) {
			return
		}
	}
}

// serveSession serves the handler on the streams cloudcore opens until the
// session or ctx ends. Close, not Shutdown: the streams are dead.
func (m *Module) serveSession(ctx context.Context, s *yamux.Session, reqs *httpserver.Handlers) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := m.newServer(ctx, reqs)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(s); !errors.Is(err, http.ErrServerClosed) && ctx.Err() == nil {
			m.log.Debug("stream tunnel server stopped", "err", err)
		}
	}()
	m.connected.Store(true)
	select {
	case <-s.CloseChan():
	case <-ctx.Done():
	}
	m.connected.Store(false)
	cancel()
	_ = srv.Close()
	_ = s.Close()
	<-done
}
