package cloudstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/tether-edge/tether/common/httpserver"
	"github.com/tether-edge/tether/common/streamtunnel"
	"github.com/tether-edge/tether/common/tunnel"
)

// Name is the module's name (and group) on the bus.
const Name = "cloudstream"

// Stream server timeouts. There is no read or write timeout: a followed log
// or an exec session lasts as long as the user wants.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	// shutdownGrace is how long Start's stop waits for requests to end
	// before closing their connections.
	shutdownGrace = 2 * time.Second
	// caRefresh is how often the kubelet client CAs are loaded again.
	caRefresh = 10 * time.Minute
)

// Options configure a Module.
type Options struct {
	// StreamAddress is host:port of the stream server kube-apiserver
	// connects to. Required (cloudcore's default is ":10003").
	StreamAddress string
	// TunnelAddress is host:port of the tunnel server edges dial.
	// Required (cloudcore's default is ":10004").
	TunnelAddress string
	// ServerCert is cloudcore's serving certificate (signed by the Tether
	// CA), with its key, served on both ports. Required.
	ServerCert tls.Certificate
	// NodeCAs verify edge node certificates on the tunnel port (the Tether
	// CA). Required.
	NodeCAs *x509.CertPool
	// KubeletClientCAs loads the CAs that verify kube-apiserver's kubelet
	// client certificate on the stream port (see LoadKubeletClientCAs;
	// StaticCAs for a fixed pool). Start calls it until it succeeds,
	// refusing stream clients meanwhile, so that cloudcore starts while
	// the apiserver is away, then every caRefresh to follow a rotated CA
	// (a failure keeps the last pool). Required.
	KubeletClientCAs func(context.Context) (*x509.CertPool, error)
	// Pods finds a pod's node for each request (PodsFromClient). Required.
	Pods Pods
	// Authorizer decides, per request, whether the verified client may
	// reach the node (AuthorizerFromClient: a SubjectAccessReview for
	// nodes/proxy, as a kubelet does). Nil allows every client
	// KubeletClientCAs verifies: safe only when those CAs sign nothing but
	// kube-apiserver's kubelet client certificate, which is not so for a
	// cluster's client CA (it signs users and kubelets too).
	Authorizer Authorizer
	// KeepalivePeriod is how often the tunnel pings the edge; a tunnel
	// whose ping is unanswered for min(KeepalivePeriod, 10s) more is
	// dropped. Required > 0 (cloudcore passes cloudHub.keepalivePeriod).
	KeepalivePeriod time.Duration
	// Logger is required.
	Logger *slog.Logger
	// Metrics count refusals; nil means NewMetrics of a private registry
	// (nothing is exported).
	Metrics *Metrics
}

func (o *Options) validate() error {
	var errs []error
	if o.StreamAddress == "" || o.TunnelAddress == "" {
		errs = append(errs, errors.New("StreamAddress and TunnelAddress are required"))
	}
	if len(o.ServerCert.Certificate) == 0 || o.ServerCert.PrivateKey == nil {
		errs = append(errs, errors.New("ServerCert with its private key is required"))
	}
	if o.NodeCAs == nil || o.KubeletClientCAs == nil {
		errs = append(errs, errors.New("NodeCAs and KubeletClientCAs are required"))
	}
	if o.Pods == nil || o.Logger == nil {
		errs = append(errs, errors.New("Pods and Logger are required"))
	}
	if o.KeepalivePeriod <= 0 {
		errs = append(errs, fmt.Errorf("KeepalivePeriod %v must be positive", o.KeepalivePeriod))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cloudstream: %w", err)
	}
	return nil
}

// Module is the CloudStream module.
type Module struct {
	opts    Options
	log     *slog.Logger
	tunnels *tunnels
	handler http.Handler
	// clientCAs is the last pool KubeletClientCAs gave; nil before.
	clientCAs atomic.Pointer[x509.CertPool]

	// stream and tunnel are bound by New; each Start takes them and closes
	// them when it returns.
	stream, tunnel *httpserver.Listener
}

// New validates o and binds both listeners, so that an address in use is
// reported before anything starts.
func New(o Options) (*Module, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	log := o.Logger.With("module", Name)
	m := &Module{opts: o, log: log, tunnels: newTunnels(log)}
	m.handler = newStreamHandler(o.Pods, o.Authorizer, m.tunnels, o.Metrics, log)
	var err error
	if m.stream, err = httpserver.Listen(o.StreamAddress); err != nil {
		return nil, fmt.Errorf("cloudstream: stream server: %w", err)
	}
	if m.tunnel, err = httpserver.Listen(o.TunnelAddress); err != nil {
		m.stream.Close()
		return nil, fmt.Errorf("cloudstream: tunnel server: %w", err)
	}
	return m, nil
}

// Name implements beehive.Module.
func (m *Module) Name() string { return Name }

// Group implements beehive.Module.
func (m *Module) Group() string { return Name }

// StreamAddr is the stream server's bound address; nil between a Start
// that returned and the next.
func (m *Module) StreamAddr() net.Addr { return m.stream.Addr() }

// TunnelAddr is the tunnel server's bound address; nil between a Start
// that returned and the next.
func (m *Module) TunnelAddr() net.Addr { return m.tunnel.Addr() }

// Connected lists the nodes that have a stream tunnel.
func (m *Module) Connected() []string { return m.tunnels.nodes() }

// Start serves both ports until ctx ends, then closes the listeners and
// every session and returns once the requests in flight have ended.
func (m *Module) Start(ctx context.Context) error {
	defer m.stream.Close()
	defer m.tunnel.Close()
	stream, err := m.stream.Bind()
	if err != nil {
		return fmt.Errorf("cloudstream: stream server: %w", err)
	}
	tunnel, err := m.tunnel.Bind()
	if err != nil {
		return fmt.Errorf("cloudstream: tunnel server: %w", err)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return streamtunnel.Serve(gctx, tunnel, streamtunnel.ServerOptions{
			TLS:             m.tunnelTLS(),
			Admit:           m.admitNode,
			Handle:          m.tunnels.handle,
			Logger:          m.log,
			KeepalivePeriod: m.opts.KeepalivePeriod,
		})
	})
	g.Go(func() error { m.loadClientCAs(gctx); return nil })
	g.Go(func() error { return m.serveStreams(gctx, stream) })
	m.log.Info("serving streams", "stream", stream.Addr().String(), "tunnel", tunnel.Addr().String())
	err = g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// serveStreams runs the stream server on ln until ctx ends, then shuts it
// down: requests in flight get shutdownGrace (the tunnels are closing
// meanwhile, which ends them), then their connections are closed, and
// serveStreams returns once every handler has.
func (m *Module) serveStreams(ctx context.Context, ln net.Listener) error {
	var handlers httpserver.Handlers
	srv := &http.Server{
		Handler:           handlers.Wrap(m.handler, "cloudcore is stopping"),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		// HTTP/1.1 only: upgrades (SPDY) need it.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		// Mostly refused TLS handshakes: clients without the right
		// certificate.
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelInfo),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(ln, m.streamTLS())) }()
	var err error
	select {
	case err = <-errc:
		err = fmt.Errorf("cloudstream: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		if srv.Shutdown(sctx) != nil {
			_ = srv.Close()
		}
		cancel()
		<-errc
	}
	// Hijacked (upgraded) connections are not tracked by the server; their
	// handlers end when their stream does, and the tunnels are closing.
	handlers.StopAndWait()
	return err
}

func (m *Module) tunnelTLS() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{m.opts.ServerCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    m.opts.NodeCAs,
		MinVersion:   tls.VersionTLS13,
	}
}

// streamTLS: kube-apiserver's Go TLS client, TLS 1.2 or later; the client
// certificate must be for client authentication (Go's default check),
// verified by the kubelet client CAs last loaded. Until they are, every
// handshake fails.
func (m *Module) streamTLS() *tls.Config {
	return &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			pool := m.clientCAs.Load()
			if pool == nil {
				m.opts.Metrics.deny(DenyNotReady)
				return nil, errors.New("cloudstream: the kubelet client CA is not loaded yet")
			}
			return &tls.Config{
				Certificates: []tls.Certificate{m.opts.ServerCert},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    pool,
				MinVersion:   tls.VersionTLS12,
				NextProtos:   []string{"http/1.1"},
			}, nil
		},
	}
}

// loadClientCAs loads the kubelet client CAs until it succeeds, backing off
// from 1 s to 30 s, then again every caRefresh, until ctx ends.
func (m *Module) loadClientCAs(ctx context.Context) {
	retry := tunnel.Backoff{Initial: time.Second, Max: 30 * time.Second, Jitter: rand.Float64}
	for {
		pool, err := m.opts.KubeletClientCAs(ctx)
		wait := caRefresh
		switch {
		case err == nil:
			if m.clientCAs.Swap(pool) == nil {
				m.log.Info("kubelet client CA loaded: serving kube-apiserver")
			}
			retry.Reset()
		case ctx.Err() != nil:
			return
		case m.clientCAs.Load() == nil:
			m.log.Warn("kubelet client CA not loaded; the stream server refuses kube-apiserver until it is", "err", err)
			wait = retry.Delay()
		default:
			m.log.Warn("kubelet client CA not reloaded; keeping the last one", "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// StaticCAs is a KubeletClientCAs that always gives pool.
func StaticCAs(pool *x509.CertPool) func(context.Context) (*x509.CertPool, error) {
	return func(context.Context) (*x509.CertPool, error) { return pool, nil }
}
