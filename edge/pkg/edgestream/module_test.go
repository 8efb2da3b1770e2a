package edgestream

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/streamtunnel"
	"github.com/tether-edge/tether/edge/pkg/edged/logs"
)

const waitLimit = 20 * time.Second

// waitFor polls cond until it holds or waitLimit passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testPKI is a cluster CA, cloudcore's serving config and node n1's
// certificate.
type testPKI struct {
	ca     *certs.CA
	server *tls.Config
	node   tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	now := time.Now()
	ca, err := certs.NewCA("tether test CA", 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, key, err := certs.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	csrPEM, err := certs.NewNodeCSR("n1", key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.ParseCSR(csrPEM)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignNodeCSR(csr, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	node, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{ca: ca, node: node, server: &tls.Config{
		Certificates: []tls.Certificate{serving},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.Pool(),
		MinVersion:   tls.VersionTLS13,
	}}
}

// ClientTLS implements Certs.
func (p *testPKI) ClientTLS(serverName string) *tls.Config {
	return &tls.Config{ServerName: serverName, RootCAs: p.ca.Pool(), Certificates: []tls.Certificate{p.node}, MinVersion: tls.VersionTLS13}
}

// cloud is a stream tunnel server standing for cloudcore: it hands each
// admitted session to sessions.
type cloud struct {
	addr     string
	sessions chan *yamux.Session
	stop     func()
}

// startCloud serves the tunnel on addr ("127.0.0.1:0" for any port) until
// stop; admit refuses with its error when not nil.
func startCloud(t *testing.T, pki *testPKI, addr string, refuse error) *cloud {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &cloud{addr: ln.Addr().String(), sessions: make(chan *yamux.Session, 4)}
	done := make(chan error, 1)
	go func() {
		done <- streamtunnel.Serve(ctx, ln, streamtunnel.ServerOptions{
			TLS: pki.server,
			Admit: func(peer *x509.Certificate) (string, error) {
				if refuse != nil {
					return "", refuse
				}
				return certs.NodeName(peer)
			},
			Handle: func(ctx context.Context, node string, s *yamux.Session) {
				if node != "n1" {
					t.Errorf("session for node %q, want n1", node)
				}
				c.sessions <- s
				select {
				case <-ctx.Done():
				case <-s.CloseChan():
				}
			},
			Logger:          slog.New(slog.DiscardHandler),
			KeepalivePeriod: time.Second,
		})
	}()
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(c.stop)
	return c
}

// session waits for the module's next session.
func (c *cloud) session(t *testing.T) *yamux.Session {
	t.Helper()
	select {
	case s := <-c.sessions:
		return s
	case <-time.After(waitLimit):
		t.Fatal("no stream tunnel session")
		return nil
	}
}

// get sends GET path on a new stream of s, as CloudStream does, and
// returns the status and body.
func get(t *testing.T, s *yamux.Session, path string) (int, string) {
	t.Helper()
	st, err := s.Open()
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	defer st.Close()
	_ = st.SetDeadline(time.Now().Add(waitLimit))
	if _, err := io.WriteString(st, "GET "+path+" HTTP/1.1\r\nHost: n1\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatalf("write request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(st), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(t, resp.Body)
}

// syncBuffer is a log sink tests read while the module writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func moduleOptions(t *testing.T, pki *testPKI, addr string, rt Runtime) Options {
	return Options{
		Runtime: rt, Logger: testLogger(t), Certs: pki, TunnelAddress: addr, ServerName: "127.0.0.1",
		KeepalivePeriod: time.Second, ReconnectInitial: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond,
	}
}

// runModule starts m; the returned func cancels it and returns Start's error.
func runModule(t *testing.T, m *Module) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Start(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(waitLimit):
				t.Fatal("Start did not return after its ctx ended")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// TestModuleTunnel: the module connects, a stream the cloud opens gets the
// handler's answer; the cloud goes away and comes back, the module
// reconnects; ctx cancel ends Start with every goroutine gone.
func TestModuleTunnel(t *testing.T) {
	before := runtime.NumGoroutine()
	pki := newTestPKI(t)
	c := startCloud(t, pki, "127.0.0.1:0", nil)
	rt := streamRuntime()
	upstream := make(chan string, 1)
	echo := echoUpstream(t, upstream)
	u, _ := url.Parse(echo.URL)
	rt.target = &url.URL{Scheme: "http", Host: u.Host, Path: "/exec/tok"}
	m, err := New(moduleOptions(t, pki, c.addr, rt))
	if err != nil {
		t.Fatal(err)
	}
	stop := runModule(t, m)

	s := c.session(t)
	waitFor(t, "Connected", m.Connected)
	if code, body := get(t, s, "/healthz"); code != 200 || body != "ok" {
		t.Errorf("healthz over the tunnel = %d %q", code, body)
	}
	if code, body := get(t, s, "/containerLogs/default/db/app"); code != 404 || body != "pod default/db is not on node n1\n" {
		t.Errorf("another node's pod over the tunnel = %d %q, want 404", code, body)
	}
	// An exec is upgraded over a tunnel stream and proxied both ways.
	st, err := s.Open()
	if err != nil {
		t.Fatal(err)
	}
	upgradeOn(t, st, "n1", "/exec/default/web/app?command=sh&input=1&output=1")
	if got := <-upstream; !strings.HasPrefix(got, "POST /exec/tok ") {
		t.Errorf("upstream got %q, want the streaming URL", got)
	}
	echoes(t, st, "over the tunnel\n")
	st.Close()

	c.stop()
	waitFor(t, "not Connected after the cloud went away", func() bool { return !m.Connected() })
	c = startCloud(t, pki, c.addr, nil) // the same address again
	s = c.session(t)
	if code, body := get(t, s, "/healthz"); code != 200 || body != "ok" {
		t.Errorf("healthz after reconnecting = %d %q", code, body)
	}

	if err := stop(); err != nil {
		t.Errorf("Start: %v", err)
	}
	if m.Connected() {
		t.Error("Connected after Start returned")
	}
	select {
	case <-s.CloseChan():
	case <-time.After(waitLimit):
		t.Error("the session outlived Start")
	}
	c.stop()
	echo.Close()
	waitFor(t, "goroutines back to where they were", func() bool { return runtime.NumGoroutine() <= before })
}

// TestModuleStopWaitsForRequests: a followed log in flight when ctx ends
// ends before Start returns.
func TestModuleStopWaitsForRequests(t *testing.T) {
	pki := newTestPKI(t)
	c := startCloud(t, pki, "127.0.0.1:0", nil)
	rt := logsRuntime(t)
	reading := make(chan struct{})
	var mu sync.Mutex
	readerDone := false
	o := moduleOptions(t, pki, c.addr, rt)
	o.ReadLogs = func(ctx context.Context, _ string, _ logs.Options, w io.Writer, _ func() bool) error {
		close(reading)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // a slow return: Start must still wait for it
		mu.Lock()
		readerDone = true
		mu.Unlock()
		return nil
	}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	stop := runModule(t, m)
	s := c.session(t)
	st, err := s.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := io.WriteString(st, "GET /containerLogs/default/web/app?follow=true HTTP/1.1\r\nHost: n1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reading:
	case <-time.After(waitLimit):
		t.Fatal("the log reader was not called")
	}
	if err := stop(); err != nil {
		t.Errorf("Start: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !readerDone {
		t.Error("Start returned while a request was still being served")
	}
}

// TestModuleRefused: a refusal is logged at Warn with cloudcore's reason,
// and the module keeps trying.
func TestModuleRefused(t *testing.T) {
	pki := newTestPKI(t)
	c := startCloud(t, pki, "127.0.0.1:0", errors.New("node n1 is not admitted"))
	var logBuf syncBuffer
	o := moduleOptions(t, pki, c.addr, streamRuntime())
	o.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	runModule(t, m)
	waitFor(t, "two refusals logged", func() bool {
		return strings.Count(logBuf.String(), "level=WARN msg=\"stream tunnel refused by cloudcore\"") >= 2
	})
	if !strings.Contains(logBuf.String(), "node n1 is not admitted") || m.Connected() {
		t.Errorf("refusal log without the reason, or connected:\n%s", logBuf.String())
	}
}

// TestModuleLocal: the handler listens on LocalAddress; a taken address
// fails New.
func TestModuleLocal(t *testing.T) {
	pki := newTestPKI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	taken := ln.Addr().String()
	defer ln.Close()

	o := moduleOptions(t, pki, "127.0.0.1:1", streamRuntime()) // no cloud there
	o.LocalAddress = taken
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), taken) {
		t.Errorf("New on a taken address: %v, want an error naming it", err)
	}

	ln.Close()
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	runModule(t, m)
	var resp *http.Response
	waitFor(t, "the local server", func() bool {
		resp, err = http.Get("http://" + taken + "/healthz")
		return err == nil
	})
	defer resp.Body.Close()
	if body := readAll(t, resp.Body); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("local healthz = %d %q", resp.StatusCode, body)
	}
}

func TestNewValidates(t *testing.T) {
	pki := newTestPKI(t)
	good := moduleOptions(t, pki, "127.0.0.1:10004", streamRuntime())
	for name, change := range map[string]func(*Options){
		"no runtime":        func(o *Options) { o.Runtime = nil },
		"no certs":          func(o *Options) { o.Certs = nil },
		"no address":        func(o *Options) { o.TunnelAddress = "" },
		"no server name":    func(o *Options) { o.ServerName = "" },
		"no keepalive":      func(o *Options) { o.KeepalivePeriod = 0 },
		"max under initial": func(o *Options) { o.ReconnectMax = time.Millisecond },
	} {
		o := good
		change(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	if _, err := New(good); err != nil {
		t.Errorf("New(good): %v", err)
	}
}
