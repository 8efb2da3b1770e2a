package testenv

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// startTCPEcho serves TCP on loopback, echoing each connection's bytes and
// closing once the client half-closes, until the test ends.
func startTCPEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				_, _ = io.Copy(c, c)
				_ = c.Close()
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// startUDPEcho echoes datagrams on loopback until the test ends.
func startUDPEcho(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() {
		_ = pc.Close()
		<-done
	})
	return pc.LocalAddr().String()
}

func dialProxy(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// echoRTT sends one byte (or datagram) and times its echo.
func echoRTT(t *testing.T, c net.Conn) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := c.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	if _, err := c.Read(buf); err != nil {
		t.Fatalf("read the echo: %v", err)
	}
	return time.Since(start)
}

// expectSilence checks that nothing arrives on c within d.
func expectSilence(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(make([]byte, 16))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read while frozen: %d bytes, %v; want a timeout", n, err)
	}
}

// checkJoined runs f as a subtest, whose cleanup stops what it started, and
// checks that the goroutine count then returns to what it was.
func checkJoined(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Run("run", f)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTCPProxyForwards sends 4 MiB through a delaying proxy and back, and
// checks they come back whole and in order, and that a half-close passes.
func TestTCPProxyForwards(t *testing.T) {
	checkJoined(t, func(t *testing.T) {
		p := StartTCPProxy(t, startTCPEcho(t), ProxyOptions{Delay: 5 * time.Millisecond})
		c := dialProxy(t, "tcp", p.Addr())
		want := make([]byte, 4<<20)
		_, _ = rand.Read(want)
		go func() {
			_, _ = c.Write(want)
			_ = c.(*net.TCPConn).CloseWrite()
		}()
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		got, err := io.ReadAll(c) // ends when the echo server closes after our half-close
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("got %d bytes back, want the %d sent, in order", len(got), len(want))
		}
	})
}

func TestTCPProxyDelay(t *testing.T) {
	const delay = 50 * time.Millisecond
	p := StartTCPProxy(t, startTCPEcho(t), ProxyOptions{Delay: delay})
	c := dialProxy(t, "tcp", p.Addr())
	for range 3 {
		if rtt := echoRTT(t, c); rtt < 2*delay {
			t.Errorf("RTT %v through a proxy delaying %v each way, want at least %v", rtt, delay, 2*delay)
		}
	}
}

func TestTCPProxyFreeze(t *testing.T) {
	checkJoined(t, func(t *testing.T) {
		p := StartTCPProxy(t, startTCPEcho(t), ProxyOptions{})
		c := dialProxy(t, "tcp", p.Addr())
		echoRTT(t, c)
		p.Freeze()
		p.Freeze() // idempotent
		if _, err := c.Write([]byte("held")); err != nil {
			t.Fatal(err)
		}
		expectSilence(t, c, 300*time.Millisecond)
		p.Thaw()
		p.Thaw()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "held" {
			t.Fatalf("after Thaw: %q, %v; want the held bytes", buf, err)
		}
	})
}

func TestTCPProxyCutAll(t *testing.T) {
	checkJoined(t, func(t *testing.T) {
		p := StartTCPProxy(t, startTCPEcho(t), ProxyOptions{})
		a, b := dialProxy(t, "tcp", p.Addr()), dialProxy(t, "tcp", p.Addr())
		echoRTT(t, a)
		echoRTT(t, b)
		p.CutAll()
		for _, c := range []net.Conn{a, b} {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("read after CutAll: %d bytes, %v; want the connection closed", n, err)
			}
		}
		echoRTT(t, dialProxy(t, "tcp", p.Addr())) // a new connection works
	})
}

func TestUDPProxyForwards(t *testing.T) {
	checkJoined(t, func(t *testing.T) {
		p := StartUDPProxy(t, startUDPEcho(t), ProxyOptions{Delay: 5 * time.Millisecond})
		clients := []net.Conn{dialProxy(t, "udp", p.Addr()), dialProxy(t, "udp", p.Addr())}
		for i := range 50 {
			for j, c := range clients {
				msg := []byte{byte(i), byte(j), 'x'}
				if _, err := c.Write(msg); err != nil {
					t.Fatal(err)
				}
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 16)
				n, err := c.Read(buf)
				if err != nil || !bytes.Equal(buf[:n], msg) {
					t.Fatalf("client %d, datagram %d: got %x, %v; want %x", j, i, buf[:n], err, msg)
				}
			}
		}
	})
}

func TestUDPProxyDelay(t *testing.T) {
	const delay = 50 * time.Millisecond
	p := StartUDPProxy(t, startUDPEcho(t), ProxyOptions{Delay: delay})
	c := dialProxy(t, "udp", p.Addr())
	for range 3 {
		if rtt := echoRTT(t, c); rtt < 2*delay {
			t.Errorf("RTT %v through a proxy delaying %v each way, want at least %v", rtt, delay, 2*delay)
		}
	}
}

// TestUDPProxyFreeze: a frozen proxy drops datagrams (even those on their
// way); after Thaw new ones pass.
func TestUDPProxyFreeze(t *testing.T) {
	checkJoined(t, func(t *testing.T) {
		p := StartUDPProxy(t, startUDPEcho(t), ProxyOptions{Delay: 20 * time.Millisecond})
		c := dialProxy(t, "udp", p.Addr())
		echoRTT(t, c)
		p.Freeze()
		if _, err := c.Write([]byte("dropped")); err != nil {
			t.Fatal(err)
		}
		expectSilence(t, c, 300*time.Millisecond)
		p.Thaw()
		if _, err := c.Write([]byte("passes")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "passes" {
			t.Fatalf("after Thaw: %q, %v; want only the datagram sent after it", buf[:n], err)
		}
	})
}
