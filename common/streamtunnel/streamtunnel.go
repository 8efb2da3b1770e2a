package streamtunnel

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// ErrRefused is wrapped by Dial's error when the server refused the node;
// the text holds the server's reason.
var ErrRefused = errors.New("streamtunnel: refused by server")

const (
	// preambleOK is the server's line for an admitted peer.
	preambleOK = "ok"
	// preambleRefused starts the server's line for a refused peer.
	preambleRefused = "refused: "
	// maxPreamble bounds the line a dialer reads.
	maxPreamble = 512
	// defaultHandshakeTimeout bounds a TLS handshake and the preamble.
	defaultHandshakeTimeout = 10 * time.Second
	// streamWindow is each stream's flow-control window: how much one
	// stream may have in flight before its reader takes it.
	streamWindow = 1 << 20
)

// Config returns the yamux configuration of both ends: pings every
// keepalive, a write (or a ping's answer) that takes longer than
// writeTimeout ends the session.
func config(keepalive time.Duration, log *slog.Logger) *yamux.Config {
	c := yamux.DefaultConfig()
	c.KeepAliveInterval = keepalive
	c.ConnectionWriteTimeout = min(keepalive, 10*time.Second)
	c.MaxStreamWindowSize = streamWindow
	c.StreamOpenTimeout = 30 * time.Second
	c.StreamCloseTimeout = time.Minute
	c.LogOutput = nil
	c.Logger = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	return c
}

// ServerOptions configure Serve.
type ServerOptions struct {
	// TLS is the server config: its certificate, and ClientAuth
	// RequireAndVerifyClientCert with the node CA. Required.
	TLS *tls.Config
	// Admit names the node a verified client certificate belongs to, or
	// refuses it with an error whose text the edge is told. Required.
	Admit func(peer *x509.Certificate) (node string, err error)
	// Handle runs one admitted session; Serve closes the session when it
	// returns. ctx ends when Serve stops. Required.
	Handle func(ctx context.Context, node string, s *yamux.Session)
	// Logger is required.
	Logger *slog.Logger
	// KeepalivePeriod is how often yamux pings; required > 0.
	KeepalivePeriod time.Duration
	// HandshakeTimeout bounds the TLS handshake; zero means 10s.
	HandshakeTimeout time.Duration
}

func (o *ServerOptions) validate() error {
	switch {
	case o.TLS == nil || o.Admit == nil || o.Handle == nil || o.Logger == nil:
		return errors.New("streamtunnel: ServerOptions need TLS, Admit, Handle and Logger")
	case o.TLS.ClientAuth != tls.RequireAndVerifyClientCert:
		return fmt.Errorf("streamtunnel: TLS.ClientAuth is %v, want RequireAndVerifyClientCert", o.TLS.ClientAuth)
	case o.KeepalivePeriod <= 0:
		return errors.New("streamtunnel: KeepalivePeriod must be positive")
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = defaultHandshakeTimeout
	}
	return nil
}

// Serve accepts edges on ln until ctx ends, then closes ln and every
// session and waits for their Handles. It returns nil after a clean stop.
func Serve(ctx context.Context, ln net.Listener, o ServerOptions) error {
	if err := o.validate(); err != nil {
		_ = ln.Close()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("streamtunnel: accept: %w", err)
		}
		wg.Go(func() { serveConn(ctx, c, o) })
	}
}

// serveConn admits one connection and runs its session.
func serveConn(ctx context.Context, raw net.Conn, o ServerOptions) {
	log := o.Logger.With("remote", raw.RemoteAddr())
	node, c, err := admit(raw, o)
	if err != nil {
		log.Info("stream tunnel refused", "err", err)
		_ = raw.Close()
		return
	}
	s, err := yamux.Client(c, config(o.KeepalivePeriod, log))
	if err != nil {
		log.Error("stream tunnel session", "node", node, "err", err)
		_ = c.Close()
		return
	}
	defer s.Close()
	go refuseStreams(s, log.With("node", node))
	stop := context.AfterFunc(ctx, func() { _ = s.Close() })
	defer stop()
	log.Debug("stream tunnel connected", "node", node)
	o.Handle(ctx, node, s)
	log.Debug("stream tunnel closed", "node", node)
}

// admit completes the TLS handshake, asks Admit for the node and tells the
// peer the outcome.
func admit(raw net.Conn, o ServerOptions) (string, *tls.Conn, error) {
	c := tls.Server(raw, o.TLS)
	_ = c.SetDeadline(time.Now().Add(o.HandshakeTimeout))
	if err := c.Handshake(); err != nil {
		return "", nil, fmt.Errorf("TLS handshake: %w", err)
	}
	cs := c.ConnectionState()
	if len(cs.VerifiedChains) == 0 || len(cs.PeerCertificates) == 0 {
		return "", nil, errors.New("no verified client certificate")
	}
	node, err := o.Admit(cs.PeerCertificates[0])
	if err == nil && node == "" {
		err = fmt.Errorf("no node name for %q", cs.PeerCertificates[0].Subject.CommonName)
	}
	if err != nil {
		_, _ = io.WriteString(c, preambleRefused+oneLine(err.Error())+"\n")
		return "", nil, err
	}
	if _, err := io.WriteString(c, preambleOK+"\n"); err != nil {
		return "", nil, fmt.Errorf("write preamble: %w", err)
	}
	_ = c.SetDeadline(time.Time{})
	return node, c, nil
}

// refuseStreams resets every stream the edge opens, until the session ends.
func refuseStreams(s *yamux.Session, log *slog.Logger) {
	for {
		st, err := s.AcceptStream()
		if err != nil {
			return
		}
		log.Warn("stream tunnel: the edge opened a stream; only cloudcore may open streams")
		_ = st.Close()
	}
}

// DialOptions configure Dial.
type DialOptions struct {
	// TLS is the client config: the node certificate and the CA that signs
	// cloudcore's serving certificate. Required.
	TLS *tls.Config
	// KeepalivePeriod is how often yamux pings; required > 0.
	KeepalivePeriod time.Duration
	// Logger receives yamux's own messages (at debug). Required.
	Logger *slog.Logger
	// HandshakeTimeout bounds the dial, the TLS handshake and the
	// preamble; zero means 10s.
	HandshakeTimeout time.Duration
}

// Dial connects to cloudcore's stream tunnel at addr and returns the
// session, on which cloudcore opens streams (Accept them, or Serve an
// http.Server on it). A refusal is an error wrapping ErrRefused.
func Dial(ctx context.Context, addr string, o DialOptions) (*yamux.Session, error) {
	if o.TLS == nil || o.Logger == nil || o.KeepalivePeriod <= 0 {
		return nil, errors.New("streamtunnel: DialOptions need TLS, Logger and a positive KeepalivePeriod")
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = defaultHandshakeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, o.HandshakeTimeout)
	defer cancel()
	d := tls.Dialer{Config: o.TLS}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("streamtunnel: dial %s: %w", addr, err)
	}
	c := nc.(*tls.Conn)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	err = readPreamble(c)
	if !stop() {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("streamtunnel: %s: %w", addr, err)
	}
	_ = c.SetDeadline(time.Time{})
	s, err := yamux.Server(c, config(o.KeepalivePeriod, o.Logger))
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("streamtunnel: session: %w", err)
	}
	return s, nil
}

// readPreamble reads the server's line one byte at a time, so that
// nothing of the yamux stream after it is consumed.
func readPreamble(c *tls.Conn) error {
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := io.ReadFull(c, b); err != nil {
			return fmt.Errorf("read the server's answer: %w", err)
		}
		if b[0] == '\n' {
			break
		}
		if len(line) == maxPreamble {
			return errors.New("the server's answer is too long: not a stream tunnel server")
		}
		line = append(line, b[0])
	}
	if reason, ok := strings.CutPrefix(string(line), preambleRefused); ok {
		return fmt.Errorf("%w: %s", ErrRefused, reason)
	}
	if string(line) != preambleOK {
		return fmt.Errorf("unexpected answer %q: not a stream tunnel server", line)
	}
	return nil
}

// oneLine keeps a reason on one line.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}
