package testenv

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Network fault proxies: a TCPProxy (for WebSocket tunnels) or a UDPProxy
// (for QUIC) sits between a client and a server on loopback and adds a
// delay, black-holes the traffic (Freeze) or cuts the connections (CutAll),
// so tests can see what a slow, half-open or broken network does.

const (
	// proxyMaxBuffered bounds the bytes a proxy holds per direction (per
	// connection for TCP, where a full buffer stops the reading; per
	// client for UDP, where it drops datagrams, as a router would).
	proxyMaxBuffered = 64 << 20
	// proxyReadSize is the most a TCP proxy reads at once.
	proxyReadSize = 32 << 10
	// proxyDialTimeout bounds a TCP proxy's dial of its target.
	proxyDialTimeout = 10 * time.Second
)

// ProxyOptions configure StartTCPProxy and StartUDPProxy.
type ProxyOptions struct {
	// Delay is the one-way delay added to each direction (RTT grows by
	// 2*Delay); order is preserved; bandwidth is not limited. Zero adds none.
	Delay time.Duration
}

// chunk is bytes (a TCP read, a datagram) on their way through a delayLine.
type chunk struct {
	data []byte
	due  time.Time
}

// delayLine carries one direction of a proxy: the reader puts chunks in,
// stamped with when they are due, and run hands each to the writer at that
// time, in order. Only the reader puts and closes.
type delayLine struct {
	delay  time.Duration
	chunks chan chunk
	room   *semaphore.Weighted // bytes queued, up to proxyMaxBuffered
}

func newDelayLine(delay time.Duration) *delayLine {
	return &delayLine{
		delay:  delay,
		chunks: make(chan chunk, 1<<12),
		room:   semaphore.NewWeighted(proxyMaxBuffered),
	}
}

// put queues data, waiting for room.
func (l *delayLine) put(ctx context.Context, data []byte) error {
	if err := l.room.Acquire(ctx, int64(len(data))); err != nil {
		return err
	}
	select {
	case l.chunks <- chunk{data: data, due: time.Now().Add(l.delay)}:
		return nil
	case <-ctx.Done():
		l.room.Release(int64(len(data)))
		return ctx.Err()
	}
}

// tryPut queues data unless the line is full, and says whether it did.
func (l *delayLine) tryPut(data []byte) bool {
	if !l.room.TryAcquire(int64(len(data))) {
		return false
	}
	select {
	case l.chunks <- chunk{data: data, due: time.Now().Add(l.delay)}:
		return true
	default:
		l.room.Release(int64(len(data)))
		return false
	}
}

// close says no more chunks will come; run returns once it has sent the
// queued ones.
func (l *delayLine) close() { close(l.chunks) }

// run sends each chunk when due, until the line is closed and empty (nil),
// ctx ends or send fails.
func (l *delayLine) run(ctx context.Context, send func([]byte) error) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var c chunk
		select {
		case next, ok := <-l.chunks:
			if !ok {
				return nil
			}
			c = next
		case <-ctx.Done():
			return ctx.Err()
		}
		if wait := time.Until(c.due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := send(c.data)
		l.room.Release(int64(len(c.data)))
		if err != nil {
			return err
		}
	}
}

// gate holds a TCP proxy's traffic while it is frozen.
type gate struct {
	// mu guards open, which is closed while traffic flows and a fresh,
	// open channel while frozen.
	mu   sync.Mutex
	open chan struct{}
}

func newGate() *gate {
	g := &gate{open: make(chan struct{})}
	close(g.open)
	return g
}

// wait returns once traffic may flow, or ctx's error.
func (g *gate) wait(ctx context.Context) error {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) freeze() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
		g.open = make(chan struct{})
	default: // already frozen
	}
}

func (g *gate) thaw() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open: // already flowing
	default:
		close(g.open)
	}
}

// TCPProxy forwards TCP connections from a loopback port to a target.
type TCPProxy struct {
	target string
	delay  time.Duration
	ln     net.Listener
	gate   *gate
	ctx    context.Context // ends at cleanup
	wg     sync.WaitGroup  // every goroutine of the proxy

	// mu guards conns, which is nil once the proxy is closed.
	mu    sync.Mutex
	conns map[*proxiedConn]struct{}
}

// proxiedConn is one client connection and its connection to the target.
type proxiedConn struct {
	client, upstream net.Conn
	ctx              context.Context
	cancel           context.CancelFunc
	running          atomic.Int32 // directions still forwarding
	closeOnce        sync.Once
}

// close ends both directions at once and closes both connections.
func (c *proxiedConn) close() {
	c.closeOnce.Do(func() {
		c.cancel()
		_ = c.client.Close()
		_ = c.upstream.Close()
	})
}

// StartTCPProxy forwards TCP connections from a loopback port to target
// until the test ends; cleanup closes every connection and joins every
// goroutine. A client's half-close is passed on after the data before it.
func StartTCPProxy(t T, target string, o ProxyOptions) *TCPProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tcp proxy to %s: %v", target, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &TCPProxy{
		target: target,
		delay:  o.Delay,
		ln:     ln,
		gate:   newGate(),
		ctx:    ctx,
		conns:  make(map[*proxiedConn]struct{}),
	}
	p.wg.Go(p.acceptLoop)
	t.Cleanup(func() {
		cancel()
		_ = ln.Close()
		p.mu.Lock()
		conns := p.conns
		p.conns = nil
		p.mu.Unlock()
		for c := range conns {
			c.close()
		}
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's address, for clients to dial.
func (p *TCPProxy) Addr() string { return p.ln.Addr().String() }

// Freeze stops forwarding in both directions and keeps the connections
// open, like a black-holed peer: nothing arrives, and senders block once
// their socket buffers fill. New connections are accepted and frozen too.
func (p *TCPProxy) Freeze() { p.gate.freeze() }

// Thaw resumes forwarding; what was held goes on, in order.
func (p *TCPProxy) Thaw() { p.gate.thaw() }

// CutAll closes every current connection, both sides; new ones are still
// accepted.
func (p *TCPProxy) CutAll() {
	p.mu.Lock()
	conns := make([]*proxiedConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

func (p *TCPProxy) acceptLoop() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed by cleanup
		}
		p.wg.Go(func() { p.serve(client) })
	}
}

// serve dials the target for client and forwards both ways.
func (p *TCPProxy) serve(client net.Conn) {
	d := net.Dialer{Timeout: proxyDialTimeout}
	upstream, err := d.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	ctx, cancel := context.WithCancel(p.ctx)
	c := &proxiedConn{client: client, upstream: upstream, ctx: ctx, cancel: cancel}
	p.mu.Lock()
	if p.conns == nil {
		p.mu.Unlock()
		c.close()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	c.running.Store(2)
	p.forward(c, client, upstream)
	p.forward(c, upstream, client)
}

// forward starts one direction of c: a reader that stamps what src sends
// and a writer that passes it to dst when due.
func (p *TCPProxy) forward(c *proxiedConn, src, dst net.Conn) {
	line := newDelayLine(p.delay)
	p.wg.Go(func() { p.read(c, src, line) })
	p.wg.Go(func() {
		err := line.run(c.ctx, func(b []byte) error {
			if err := p.gate.wait(c.ctx); err != nil {
				return err
			}
			_, err := dst.Write(b)
			return err
		})
		if err != nil {
			c.close()
		} else if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite() // src ended: pass the half-close on
		}
		if c.running.Add(-1) == 0 {
			c.close()
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
		}
	})
}

// read puts what src sends into line until src ends (then closes line) or
// fails (then closes c).
func (p *TCPProxy) read(c *proxiedConn, src net.Conn, line *delayLine) {
	defer line.close()
	buf := make([]byte, proxyReadSize)
	for {
		if err := p.gate.wait(c.ctx); err != nil {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			if line.put(c.ctx, append([]byte(nil), buf[:n]...)) != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.close()
			}
			return
		}
	}
}

// UDPProxy forwards datagrams from a loopback port to a target, with one
// upstream socket per client address, so that QUIC sees one path per
// client.
type UDPProxy struct {
	target *net.UDPAddr
	delay  time.Duration
	pc     net.PacketConn
	frozen atomic.Bool
	ctx    context.Context // ends at cleanup
	wg     sync.WaitGroup  // the session goroutines

	// sessions belongs to the goroutine running readClients until it has
	// returned (readDone), then to cleanup.
	sessions map[string]*udpSession
	readDone chan struct{}
}

// udpSession is one client address and its upstream socket.
type udpSession struct {
	client   net.Addr
	upstream *net.UDPConn
	toTarget *delayLine
	toClient *delayLine
}

// StartUDPProxy forwards datagrams from a loopback port to target until the
// test ends; cleanup closes every socket and joins every goroutine.
func StartUDPProxy(t T, target string, o ProxyOptions) *UDPProxy {
	t.Helper()
	addr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatalf("udp proxy to %s: %v", target, err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("udp proxy to %s: %v", target, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &UDPProxy{
		target:   addr,
		delay:    o.Delay,
		pc:       pc,
		ctx:      ctx,
		sessions: make(map[string]*udpSession),
		readDone: make(chan struct{}),
	}
	go p.readClients()
	t.Cleanup(func() {
		cancel()
		_ = pc.Close()
		<-p.readDone
		for _, s := range p.sessions {
			_ = s.upstream.Close()
		}
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's address, for clients to send to.
func (p *UDPProxy) Addr() string { return p.pc.LocalAddr().String() }

// Freeze drops every datagram both ways, those already on their way
// included, until Thaw.
func (p *UDPProxy) Freeze() { p.frozen.Store(true) }

// Thaw lets datagrams through again.
func (p *UDPProxy) Thaw() { p.frozen.Store(false) }

// readClients reads datagrams from clients and queues them to the target,
// until the proxy's socket is closed.
func (p *UDPProxy) readClients() {
	defer close(p.readDone)
	buf := make([]byte, 64<<10)
	for {
		n, from, err := p.pc.ReadFrom(buf)
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if p.frozen.Load() {
			continue
		}
		s := p.sessions[from.String()]
		if s == nil {
			if s, err = p.startSession(from); err != nil {
				continue
			}
		}
		s.toTarget.tryPut(append([]byte(nil), buf[:n]...))
	}
}

// startSession opens an upstream socket for a new client address and starts
// its goroutines: the two delay lines and the reader of the target's
// answers.
func (p *UDPProxy) startSession(client net.Addr) (*udpSession, error) {
	up, err := net.DialUDP("udp", nil, p.target)
	if err != nil {
		return nil, err
	}
	s := &udpSession{client: client, upstream: up, toTarget: newDelayLine(p.delay), toClient: newDelayLine(p.delay)}
	p.sessions[client.String()] = s
	p.wg.Go(func() {
		_ = s.toTarget.run(p.ctx, func(b []byte) error {
			if !p.frozen.Load() {
				_, _ = up.Write(b) // a lost datagram is UDP's business
			}
			return nil
		})
	})
	p.wg.Go(func() {
		_ = s.toClient.run(p.ctx, func(b []byte) error {
			if !p.frozen.Load() {
				_, _ = p.pc.WriteTo(b, client)
			}
			return nil
		})
	})
	p.wg.Go(func() { p.readTarget(s) })
	return s, nil
}

// readTarget queues the target's datagrams to s's client until the
// upstream socket is closed.
func (p *UDPProxy) readTarget(s *udpSession) {
	buf := make([]byte, 64<<10)
	for {
		n, err := s.upstream.Read(buf)
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ECONNREFUSED from an ICMP unreachable
		}
		if !p.frozen.Load() {
			s.toClient.tryPut(append([]byte(nil), buf[:n]...))
		}
	}
}
