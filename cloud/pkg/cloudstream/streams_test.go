package cloudstream_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tether-edge/tether/tests/testenv"
)

// upgradeProto is what the echo handler switches to.
const upgradeProto = "echo-test"

// edgeHandler is an edge's kubelet stand-in: /containerLogs streams lines
// until the request ends, /exec upgrades and echoes.
func edgeHandler(node string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/containerLogs/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("identity") {
			// A body that ends when the connection does, with no
			// chunked framing to tell a cut from an end.
			w.Header().Set("Transfer-Encoding", "identity")
		}
		rc := http.NewResponseController(w)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "%s line %d\n", node, i); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
		}
	})
	mux.HandleFunc("/exec/", echoUpgrade)
	return mux
}

// echoUpgrade switches to upgradeProto and echoes what it reads.
func echoUpgrade(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != upgradeProto {
		http.Error(w, "want an upgrade to "+upgradeProto, http.StatusBadRequest)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + upgradeProto + "\r\n\r\n")
	if brw.Flush() != nil {
		return
	}
	_, _ = io.Copy(conn, brw)
}

// upgrade opens a connection to the stream server as kube-apiserver and
// upgrades a request for path; it returns the connection and a reader
// that holds what followed the 101.
func (c *cloud) upgrade(t testing.TB, path string) (net.Conn, io.Reader) {
	t.Helper()
	cert := c.pki.apiserverCert(t)
	conn, err := tls.Dial("tcp", c.StreamAddr().String(), &tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: c.pki.tether.Pool(), ServerName: "127.0.0.1",
	})
	if err != nil {
		t.Fatalf("dial the stream server: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	req, err := http.NewRequest(http.MethodPost, "https://"+c.StreamAddr().String()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", upgradeProto)
	if err := req.Write(conn); err != nil {
		t.Fatalf("write the upgrade request: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("read the upgrade response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != upgradeProto {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("upgrade answered %s %v %q", resp.Status, resp.Header, b)
	}
	_ = conn.SetReadDeadline(time.Time{})
	return conn, br
}

// echo writes data on conn and reads it back from r.
func echo(conn net.Conn, r io.Reader, data []byte) error {
	errc := make(chan error, 1)
	go func() {
		_, err := conn.Write(data)
		errc <- err
	}()
	got := make([]byte, len(data))
	_, rerr := io.ReadFull(r, got)
	if err := errors.Join(<-errc, rerr); err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		return errors.New("echo differs from what was sent")
	}
	return nil
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// An upgraded request passes bytes both ways, and many at once share one
// session.
func TestUpgradeEchoesThroughTheTunnel(t *testing.T) {
	c := startCloud(t, map[string]string{"default/web": "edge-a"})
	c.connectEdge(t, "edge-a", "", edgeHandler("edge-a"))
	conn, r := c.upgrade(t, "/exec/default/web/app?command=sh&input=1&output=1")
	if err := echo(conn, r, []byte("hello through the tunnel")); err != nil {
		t.Fatalf("echo: %v", err)
	}

	const streams = 50
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := range streams {
		conn, r := c.upgrade(t, "/exec/default/web/app")
		data := randomBytes(t, 64<<10+i)
		wg.Go(func() {
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			if err := echo(conn, r, data); err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A stream whose reader stops stalls alone: another stream on the same
// session still flows (per-stream flow control).
func TestSlowReaderStallsOnlyItsStream(t *testing.T) {
	c := startCloud(t, map[string]string{"default/web": "edge-a"})
	c.connectEdge(t, "edge-a", "", edgeHandler("edge-a"))

	// The slow stream: far more is written than every buffer on the way
	// (sockets, yamux windows) holds, and nothing is read back, so the echo
	// stalls and so does the writer.
	slow, slowR := c.upgrade(t, "/exec/default/web/app")
	slowData := randomBytes(t, 128<<20)
	written := make(chan error, 1)
	go func() {
		_, err := slow.Write(slowData)
		written <- err
	}()

	fast, fastR := c.upgrade(t, "/exec/default/web/app")
	_ = fast.SetDeadline(time.Now().Add(30 * time.Second))
	if err := echo(fast, fastR, randomBytes(t, 4<<20)); err != nil {
		t.Fatalf("the other stream while one is stalled: %v", err)
	}
	select {
	case err := <-written:
		t.Fatalf("128 MiB went into the slow stream without being read back (err %v): nothing stalled, so the test proves nothing", err)
	default:
	}
	// The slow stream resumes when read.
	_ = slow.SetReadDeadline(time.Now().Add(30 * time.Second))
	got := make([]byte, 1<<20)
	if _, err := io.ReadFull(slowR, got); err != nil || !bytes.Equal(got, slowData[:len(got)]) {
		t.Fatalf("reading the slow stream back: %v (equal %v)", err, bytes.Equal(got, slowData[:len(got)]))
	}
	slow.Close()
	<-written
}

// A lost tunnel ends a streamed response with an error, not a clean end
// and not a hang: when the edge closes its session, and when the edge
// stops answering (a black-holed connection) for a keepalive period and
// the write timeout.
func TestDroppedTunnelEndsStreamWithError(t *testing.T) {
	closeSession := func(e *edge, _ *testenv.TCPProxy) { _ = e.session.Close() }
	freeze := func(_ *edge, p *testenv.TCPProxy) { p.Freeze() }
	// yamux pings every keepalive and gives up after min(keepalive, 10s)
	// more: at most 2*keepalive, plus scheduling slack.
	pingLimit := 2*keepalive + 2*time.Second
	cases := []struct {
		name  string
		path  string
		drop  func(*edge, *testenv.TCPProxy)
		limit time.Duration
	}{
		{"the edge closes its session", "/containerLogs/default/web/app?follow=true", closeSession, 5 * time.Second},
		{"the edge stops answering", "/containerLogs/default/web/app?follow=true", freeze, pingLimit},
		{"the edge closes its session, body without framing", "/containerLogs/default/web/app?identity", closeSession, 5 * time.Second},
		{"the edge stops answering, body without framing", "/containerLogs/default/web/app?identity", freeze, pingLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := startCloud(t, map[string]string{"default/web": "edge-a"})
			proxy := testenv.StartTCPProxy(t, c.TunnelAddr().String(), testenv.ProxyOptions{})
			e := c.connectEdge(t, "edge-a", proxy.Addr(), edgeHandler("edge-a"))
			resp, err := c.apiserver(t).Get(c.url(tc.path))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			if line, err := br.ReadString('\n'); err != nil || line != "edge-a line 0\n" {
				t.Fatalf("first line %q, %v", line, err)
			}
			start := time.Now()
			tc.drop(e, proxy)
			done := make(chan error, 1)
			go func() {
				_, err := io.Copy(io.Discard, br)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("the response ended cleanly; want an error")
				}
				t.Logf("read ended after %v: %v", time.Since(start).Round(time.Millisecond), err)
			case <-time.After(tc.limit):
				t.Fatalf("the response still streams %v after the tunnel was lost", tc.limit)
			}
			waitFor(t, "the module drops the node", func() bool { return len(c.Connected()) == 0 })
			got := get(t, c.apiserver(t), c.url("/containerLogs/default/web/app"))
			if got.status != http.StatusBadGateway {
				t.Errorf("request after the tunnel was lost: %d %q; want 502", got.status, got.body)
			}
		})
	}
}

// Stopping closes both listeners and every session, ends requests in
// flight (streamed and upgraded) with an error, and leaks nothing; a
// restarted Start serves the same addresses again.
func TestStopAndRestart(t *testing.T) {
	checkNoLeaks(t)
	c := startCloud(t, map[string]string{"default/web": "edge-a"})
	e := c.connectEdge(t, "edge-a", "", edgeHandler("edge-a"))
	streamAddr, tunnelAddr := c.StreamAddr().String(), c.TunnelAddr().String()

	resp, err := c.apiserver(t).Get(c.url("/containerLogs/default/web/app?follow=true"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	conn, r := c.upgrade(t, "/exec/default/web/app")
	if err := echo(conn, r, []byte("before stop")); err != nil {
		t.Fatal(err)
	}

	c.stop(t)
	if _, err := io.Copy(io.Discard, br); err == nil {
		t.Error("the streamed response ended cleanly at stop; want an error")
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, r); isTimeout(err) {
		t.Error("the upgraded connection is still open after stop")
	}
	select {
	case <-e.session.CloseChan():
	case <-time.After(10 * time.Second):
		t.Fatal("the edge's session is still open after stop")
	}
	for _, addr := range []string{streamAddr, tunnelAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after stop", addr)
		}
	}
	if c.StreamAddr() != nil || c.TunnelAddr() != nil {
		t.Errorf("addresses %v %v after stop; want nil", c.StreamAddr(), c.TunnelAddr())
	}

	c.start(t)
	waitFor(t, "the restarted module listens", func() bool { return c.StreamAddr() != nil && c.TunnelAddr() != nil })
	if got := c.StreamAddr().String() + " " + c.TunnelAddr().String(); got != streamAddr+" "+tunnelAddr {
		t.Errorf("restarted on %s; want %s %s", got, streamAddr, tunnelAddr)
	}
	c.connectEdge(t, "edge-a", "", whoAmI("edge-a again"))
	if got := get(t, c.apiserver(t), c.url("/containerLogs/default/web/app")); !strings.HasPrefix(got.body, "edge-a again ") {
		t.Errorf("after restart: %d %q", got.status, got.body)
	}
}

// BenchmarkStreamThroughput is one response of 64 MiB from an edge through
// the tunnel and the stream server (both TLS, loopback).
func BenchmarkStreamThroughput(b *testing.B) {
	const size = 64 << 20
	c := startCloud(b, map[string]string{"default/web": "edge-a"})
	chunk := make([]byte, 32<<10)
	c.connectEdge(b, "edge-a", "", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for n := 0; n < size; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	api := c.apiserver(b)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		resp, err := api.Get(c.url("/containerLogs/default/web/app"))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != size {
			b.Fatalf("read %d bytes, %v", n, err)
		}
	}
}
