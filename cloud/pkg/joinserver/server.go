package joinserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/httpserver"
)

// Server timeouts.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 2 * time.Second
)

// TokenValidator checks a join credential "<id>.<secret>". It returns nil
// when the token may be used, an error wrapping pki.ErrTokenInvalid or
// pki.ErrTokenExpired when it may not, and any other error when it cannot
// tell. *pki.Tokens implements it.
type TokenValidator interface {
	Validate(ctx context.Context, credential string) error
}

// Options configure a Server.
type Options struct {
	// Address is host:port to listen on. Required (cloudcore's default is
	// ":10002").
	Address string
	// CA verifies client certificates and signs node certificates. Required.
	CA *certs.CA
	// ServerCert is the serving certificate, with its key. Required.
	ServerCert tls.Certificate
	// Tokens validates join tokens. Required.
	Tokens TokenValidator
	// NodeCertValidity is how long issued node certificates are valid
	// (capped at the CA's expiry). Required, > 0 (cloudcore's default is
	// 365 days).
	NodeCertValidity time.Duration
	// Logger is required.
	Logger *slog.Logger
	// Clock tells the time for issuing and for checking client certificates.
	// nil = time.Now.
	Clock func() time.Time
}

func (o *Options) validate() error {
	switch {
	case o.Address == "":
		return errors.New("joinserver: Address is required")
	case o.CA == nil:
		return errors.New("joinserver: CA is required")
	case len(o.ServerCert.Certificate) == 0 || o.ServerCert.PrivateKey == nil:
		return errors.New("joinserver: ServerCert with its private key is required")
	case o.Tokens == nil:
		return errors.New("joinserver: Tokens is required")
	case o.NodeCertValidity <= 0:
		return fmt.Errorf("joinserver: NodeCertValidity %v must be positive", o.NodeCertValidity)
	case o.Logger == nil:
		return errors.New("joinserver: Logger is required")
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return nil
}

// Server is the join endpoint module.
type Server struct {
	opts    Options
	tls     *tls.Config
	handler http.Handler

	ln *httpserver.Listener
}

// New validates o and binds the listener.
func New(o Options) (*Server, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	ln, err := httpserver.Listen(o.Address)
	if err != nil {
		return nil, fmt.Errorf("joinserver: %w", err)
	}
	s := &Server{opts: o, ln: ln}
	s.tls = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{o.ServerCert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    o.CA.Pool(),
		Time:         o.Clock,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ca.crt", s.serveCA)
	mux.HandleFunc("POST /v1/node-certificate", s.serveNodeCertificate)
	s.handler = mux
	return s, nil
}

// Name implements beehive.Module.
func (s *Server) Name() string { return "joinserver" }

// Group implements beehive.Module.
func (s *Server) Group() string { return "joinserver" }

// Addr is the address the server listens on (useful with port 0); nil
// between a Start that has returned and the next Start, which binds again.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Start serves until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	s.opts.Logger.Info("join server serving", "address", s.opts.Address, "caHash", s.opts.CA.Hash())
	// A server cannot serve again after Shutdown, so each Start has its own.
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         s.tls.Clone(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
	if err := s.ln.Serve(ctx, srv, shutdownTimeout); err != nil {
		return fmt.Errorf("joinserver: %w", err)
	}
	return nil
}
