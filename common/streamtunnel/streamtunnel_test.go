package streamtunnel_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/certs/certstest"
	"github.com/tether-edge/tether/common/streamtunnel"
	"github.com/tether-edge/tether/tests/testenv"
)

// keepalive is short so that a silent peer is noticed within a test.
const keepalive = 200 * time.Millisecond

type pki struct {
	ca      *certs.CA
	serving tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	ca := newCA(t)
	serving, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &pki{ca: ca, serving: serving}
}

func newCA(t *testing.T) *certs.CA {
	t.Helper()
	ca, err := certs.NewCA("test-ca", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// clientCert signs a client certificate for cn.
func clientCert(t *testing.T, ca *certs.CA, cn string) tls.Certificate {
	t.Helper()
	return certstest.Issue(t, ca, pkix.Name{CommonName: cn, Organization: []string{certs.NodesGroup}}, x509.ExtKeyUsageClientAuth)
}

func (p *pki) serverTLS() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{p.serving},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.ca.Pool(),
		MinVersion:   tls.VersionTLS13,
	}
}

// dialTLS is an edge's config: cert, always presented, and roots.
func dialTLS(cert tls.Certificate, roots *x509.CertPool) *tls.Config {
	return &tls.Config{
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		RootCAs:              roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13,
	}
}

// handled is one call of Handle.
type handled struct {
	node    string
	session *yamux.Session
	ctx     context.Context
	// release ends Handle.
	release chan struct{}
}

// server runs Serve until the test ends; every Handle is reported on
// sessions and holds its session until released or Serve's ctx ends.
type server struct {
	addr     string
	sessions chan *handled
	cancel   context.CancelFunc
	done     chan error
}

func startServer(t *testing.T, p *pki, admit func(*x509.Certificate) (string, error)) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{addr: ln.Addr().String(), sessions: make(chan *handled, 16), cancel: cancel, done: make(chan error, 1)}
	if admit == nil {
		admit = certs.NodeName
	}
	go func() {
		s.done <- streamtunnel.Serve(ctx, ln, streamtunnel.ServerOptions{
			TLS:   p.serverTLS(),
			Admit: admit,
			Handle: func(ctx context.Context, node string, sess *yamux.Session) {
				h := &handled{node: node, session: sess, ctx: ctx, release: make(chan struct{})}
				s.sessions <- h
				select {
				case <-h.release:
				case <-ctx.Done():
				case <-sess.CloseChan():
				}
			},
			Logger:          testLogger(t),
			KeepalivePeriod: keepalive,
		})
	}()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop ends Serve and checks it returned nil; a second stop is a no-op.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.done == nil {
		return
	}
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s of its ctx ending")
	}
	s.done = nil
}

// next waits for the next Handle.
func (s *server) next(t *testing.T) *handled {
	t.Helper()
	select {
	case h := <-s.sessions:
		return h
	case <-time.After(10 * time.Second):
		t.Fatal("no session was handled within 10s")
		return nil
	}
}

func dial(t *testing.T, addr string, cfg *tls.Config) (*yamux.Session, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := streamtunnel.Dial(ctx, addr, streamtunnel.DialOptions{TLS: cfg, KeepalivePeriod: keepalive, Logger: testLogger(t)})
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// roundTrip opens a stream on the cloud's session, writes msg and returns
// the edge's answer: the edge answers "<node> got <msg>".
func roundTrip(cloud, edge *yamux.Session, node, msg string) (string, error) {
	errc := make(chan error, 1)
	go func() {
		st, err := edge.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer st.Close()
		b := make([]byte, len(msg))
		if _, err := io.ReadFull(st, b); err != nil {
			errc <- err
			return
		}
		_, err = fmt.Fprintf(st, "%s got %s", node, b)
		errc <- err
	}()
	st, err := cloud.Open()
	if err != nil {
		return "", err
	}
	defer st.Close()
	_ = st.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(st, msg); err != nil {
		return "", err
	}
	if err := <-errc; err != nil {
		return "", fmt.Errorf("edge: %w", err)
	}
	b, err := io.ReadAll(st)
	return string(b), err
}

func TestAdmittedSessionCarriesCloudStreams(t *testing.T) {
	p := newPKI(t)
	srv := startServer(t, p, nil)
	edge, err := dial(t, srv.addr, dialTLS(clientCert(t, p.ca, "system:node:edge-1"), p.ca.Pool()))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	h := srv.next(t)
	if h.node != "edge-1" {
		t.Errorf("Handle got node %q; want edge-1 (from the certificate)", h.node)
	}
	for i := range 3 {
		got, err := roundTrip(h.session, edge, "edge-1", fmt.Sprintf("request %d", i))
		if want := fmt.Sprintf("edge-1 got request %d", i); err != nil || got != want {
			t.Errorf("stream %d: %q, %v; want %q", i, got, err, want)
		}
	}
	// Handle returning closes the session, and the edge sees it.
	close(h.release)
	select {
	case <-edge.CloseChan():
	case <-time.After(10 * time.Second):
		t.Fatal("the edge's session is open after Handle returned")
	}
}

func TestRefusedDialerIsToldWhy(t *testing.T) {
	p := newPKI(t)
	srv := startServer(t, p, func(*x509.Certificate) (string, error) {
		return "", errors.New("node edge-1 is cordoned\nfor maintenance")
	})
	_, err := dial(t, srv.addr, dialTLS(clientCert(t, p.ca, "system:node:edge-1"), p.ca.Pool()))
	if !errors.Is(err, streamtunnel.ErrRefused) || !strings.Contains(err.Error(), "node edge-1 is cordoned for maintenance") {
		t.Fatalf("Dial: %v; want ErrRefused with the reason on one line", err)
	}
	select {
	case h := <-srv.sessions:
		t.Fatalf("a refused node was handled: %q", h.node)
	default:
	}

	t.Run("Admit naming no node", func(t *testing.T) {
		srv := startServer(t, p, func(*x509.Certificate) (string, error) { return "", nil })
		_, err := dial(t, srv.addr, dialTLS(clientCert(t, p.ca, "system:node:edge-1"), p.ca.Pool()))
		if !errors.Is(err, streamtunnel.ErrRefused) {
			t.Fatalf("Dial: %v; want ErrRefused", err)
		}
	})
}

func TestWrongCAFailsTheHandshake(t *testing.T) {
	p := newPKI(t)
	srv := startServer(t, p, nil)
	other := newCA(t)
	cases := []struct {
		name string
		cfg  *tls.Config
	}{
		{"edge certificate from another CA", dialTLS(clientCert(t, other, "system:node:edge-1"), p.ca.Pool())},
		{"server certificate the edge does not trust", dialTLS(clientCert(t, p.ca, "system:node:edge-1"), other.Pool())},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := dial(t, srv.addr, c.cfg)
			if err == nil || errors.Is(err, streamtunnel.ErrRefused) {
				t.Fatalf("Dial: %v; want a TLS failure", err)
			}
		})
	}
	select {
	case h := <-srv.sessions:
		t.Fatalf("a node was handled: %q", h.node)
	default:
	}
}

func TestStreamOpenedByTheEdgeIsClosed(t *testing.T) {
	p := newPKI(t)
	srv := startServer(t, p, nil)
	edge, err := dial(t, srv.addr, dialTLS(clientCert(t, p.ca, "system:node:edge-1"), p.ca.Pool()))
	if err != nil {
		t.Fatal(err)
	}
	h := srv.next(t)
	st, err := edge.Open()
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer st.Close()
	_ = st.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(st, "GET /secrets HTTP/1.1\r\n\r\n")
	b, err := io.ReadAll(st)
	if len(b) != 0 || err != nil {
		t.Errorf("the edge's stream read %q, %v; want a clean close with nothing", b, err)
	}
	// The session still carries the cloud's streams.
	if got, err := roundTrip(h.session, edge, "edge-1", "after"); err != nil || got != "edge-1 got after" {
		t.Errorf("cloud stream after the edge's: %q, %v", got, err)
	}
}

func TestServeStopClosesSessions(t *testing.T) {
	p := newPKI(t)
	srv := startServer(t, p, nil)
	edge, err := dial(t, srv.addr, dialTLS(clientCert(t, p.ca, "system:node:edge-1"), p.ca.Pool()))
	if err != nil {
		t.Fatal(err)
	}
	h := srv.next(t)
	srv.stop(t)
	if h.ctx.Err() == nil {
		t.Error("Handle's ctx is live after Serve returned")
	}
	for name, s := range map[string]*yamux.Session{"cloud": h.session, "edge": edge} {
		select {
		case <-s.CloseChan():
		case <-time.After(10 * time.Second):
			t.Errorf("the %s's session is open after Serve returned", name)
		}
	}
	if c, err := net.DialTimeout("tcp", srv.addr, time.Second); err == nil {
		c.Close()
		t.Error("the listener accepts after Serve returned")
	}
}

// A peer that stops answering (a black-holed connection) ends the session
// on both sides within a keepalive period and the write timeout.
func TestKeepaliveEndsSilentSession(t *testing.T) {
	p := newPKI(t)
	srv := startServer(t, p, nil)
	proxy := testenv.StartTCPProxy(t, srv.addr, testenv.ProxyOptions{})
	edge, err := dial(t, proxy.Addr(), dialTLS(clientCert(t, p.ca, "system:node:edge-1"), p.ca.Pool()))
	if err != nil {
		t.Fatal(err)
	}
	h := srv.next(t)
	// Idle for several keepalive periods: pings keep it up.
	idle := time.NewTimer(4 * keepalive)
	select {
	case <-idle.C:
	case <-h.session.CloseChan():
		t.Fatal("an idle session with answered pings was closed")
	}
	proxy.Freeze()
	start := time.Now()
	limit := 2*keepalive + 2*time.Second
	for name, s := range map[string]*yamux.Session{"cloud": h.session, "edge": edge} {
		select {
		case <-s.CloseChan():
			t.Logf("%s's session ended %v after the freeze", name, time.Since(start).Round(time.Millisecond))
		case <-time.After(limit - time.Since(start)):
			t.Fatalf("the %s's session is open %v after its peer went silent", name, limit)
		}
	}
}

func TestDialGivesUpOnASilentServer(t *testing.T) {
	p := newPKI(t)
	cfg := dialTLS(clientCert(t, p.ca, "system:node:edge-1"), p.ca.Pool())
	cases := []struct {
		name  string
		serve func(net.Conn)
		want  string
	}{
		// Each server holds the connection until the dialer closes it.
		{"no TLS", func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }, ""},
		{"TLS but no answer", func(c net.Conn) {
			_, _ = io.Copy(io.Discard, tls.Server(c, p.serverTLS()))
		}, ""},
		{"not a stream tunnel server", func(c net.Conn) {
			tc := tls.Server(c, p.serverTLS())
			_, _ = io.WriteString(tc, "HTTP/1.1 400 Bad Request\r\n")
			_, _ = io.Copy(io.Discard, tc)
		}, "not a stream tunnel server"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			served := make(chan struct{})
			defer func() { <-served }()
			go func() {
				defer close(served)
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				tc.serve(c)
			}()
			start := time.Now()
			_, err = streamtunnel.Dial(context.Background(), ln.Addr().String(), streamtunnel.DialOptions{
				TLS: cfg, KeepalivePeriod: keepalive, Logger: testLogger(t), HandshakeTimeout: 300 * time.Millisecond,
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Dial: %v; want an error containing %q", err, tc.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Dial took %v with a 300ms handshake timeout", d)
			}
		})
	}
}

func TestOptionsAreValidated(t *testing.T) {
	p := newPKI(t)
	good := func() streamtunnel.ServerOptions {
		return streamtunnel.ServerOptions{
			TLS: p.serverTLS(), Admit: certs.NodeName, Handle: func(context.Context, string, *yamux.Session) {},
			Logger: testLogger(t), KeepalivePeriod: time.Second,
		}
	}
	cases := []struct {
		name   string
		change func(*streamtunnel.ServerOptions)
	}{
		{"no TLS", func(o *streamtunnel.ServerOptions) { o.TLS = nil }},
		{"client certificates not required", func(o *streamtunnel.ServerOptions) { o.TLS.ClientAuth = tls.VerifyClientCertIfGiven }},
		{"no Admit", func(o *streamtunnel.ServerOptions) { o.Admit = nil }},
		{"no Handle", func(o *streamtunnel.ServerOptions) { o.Handle = nil }},
		{"no Logger", func(o *streamtunnel.ServerOptions) { o.Logger = nil }},
		{"no keepalive", func(o *streamtunnel.ServerOptions) { o.KeepalivePeriod = 0 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			o := good()
			c.change(&o)
			if err := streamtunnel.Serve(context.Background(), ln, o); err == nil {
				t.Fatal("Serve accepted invalid options")
			}
			if _, err := ln.Accept(); err == nil {
				t.Error("Serve left the listener open after refusing its options")
			}
		})
	}
	if _, err := streamtunnel.Dial(context.Background(), "127.0.0.1:1", streamtunnel.DialOptions{Logger: testLogger(t), KeepalivePeriod: time.Second}); err == nil {
		t.Error("Dial accepted options without TLS")
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}
