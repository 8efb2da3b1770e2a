package tunnel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/wire"
)

// The QUIC application error codes a connection is closed with.
const (
	quicCodeClosed      quic.ApplicationErrorCode = 0x0 // Close: the reason is the caller's
	quicCodeRefused     quic.ApplicationErrorCode = 0x1 // Admit refused the peer
	quicCodeUnavailable quic.ApplicationErrorCode = 0x2 // Admit said try later (ErrUnavailable)
)

const (
	// quicWriteChunk is how many bytes of frames Write hands to the stream
	// at a time: a big batch is not encoded whole before any of it goes.
	quicWriteChunk = 64 << 10
	// quicMaxCloseReason bounds the reason in a CONNECTION_CLOSE frame,
	// which must fit in one packet.
	quicMaxCloseReason = 512
)

// quicConn is a Conn over one bidirectional QUIC stream. It reads frames
// straight from the stream, without a read-ahead buffer: quic-go already
// buffers what arrived, and an idle conn then holds no buffer of its own.
type quicConn struct {
	qc    *quic.Conn
	st    *quic.Stream
	codec wire.Codec
	meter Meter // nil counts nothing

	// src is what Read reads frames from: st, or in counting st for the
	// meter. They and readErr, Read's sticky error, belong to the reading
	// goroutine.
	src     io.Reader
	in      countingReader
	readErr error

	closed    atomic.Bool
	closeOnce sync.Once
}

func newQUICConn(qc *quic.Conn, st *quic.Stream, codec wire.Codec, meter Meter) *quicConn {
	c := &quicConn{qc: qc, st: st, codec: codec, meter: meter}
	c.src = c.in.source(st, meter)
	return c
}

func (c *quicConn) Read() (message.Message, error) {
	if c.readErr == nil {
		m, err := c.codec.ReadFrame(c.src)
		if err == nil {
			if c.meter != nil {
				c.meter.Read(c.in.take())
			}
			return m, nil
		}
		c.readErr = c.wrapErr("read", err)
	}
	return message.Message{}, c.readErr
}

func (c *quicConn) Write(msgs []message.Message) error {
	if c.closed.Load() {
		return errLocalClose("write")
	}
	n, err := writeFrames(c.codec, msgs, quicWriteChunk, func(chunk []byte) error {
		if _, err := c.st.Write(chunk); err != nil {
			return c.wrapErr("write", err)
		}
		return nil
	})
	return wrote(c.meter, msgs, n, err)
}

func (c *quicConn) SetReadDeadline(t time.Time) error  { return c.st.SetReadDeadline(t) }
func (c *quicConn) SetWriteDeadline(t time.Time) error { return c.st.SetWriteDeadline(t) }
func (c *quicConn) RemoteAddr() net.Addr               { return c.qc.RemoteAddr() }
func (c *quicConn) Transport() string                  { return TransportQUIC }

// Close closes the whole QUIC connection with reason. Like any QUIC
// connection close, it drops written data that the peer has not yet
// received.
func (c *quicConn) Close(reason string) error {
	return c.closeWith(quicCodeClosed, reason)
}

func (c *quicConn) closeWith(code quic.ApplicationErrorCode, reason string) error {
	var err error
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		err = c.qc.CloseWithError(code, truncateReason(reason, quicMaxCloseReason))
	})
	return err
}

func (c *quicConn) wrapErr(op string, err error) error {
	if c.closed.Load() {
		return errLocalClose(op)
	}
	if err == io.EOF {
		return errPeerClose("QUIC stream end", "", true)
	}
	return quicErr(op, err)
}

// quicErr says what a QUIC error means: the server's refusal, the peer's
// Close (which wraps io.EOF), or the transport's error.
func quicErr(op string, err error) error {
	var ae *quic.ApplicationError
	if !errors.As(err, &ae) || !ae.Remote {
		return fmt.Errorf("tunnel: %s: %w", op, err)
	}
	how := fmt.Sprintf("QUIC application error %#x", uint64(ae.ErrorCode))
	switch ae.ErrorCode {
	case quicCodeRefused, quicCodeUnavailable:
		return &refusedError{how: how, reason: ae.ErrorMessage, unavailable: ae.ErrorCode == quicCodeUnavailable}
	case quicCodeClosed:
		return errPeerClose(how, ae.ErrorMessage, true)
	}
	return errPeerClose(how, ae.ErrorMessage, false)
}

// quicConfig is the QUIC configuration of both ends: no QUIC keepalives
// (the caller sends keepalive messages) and one bidirectional stream per
// connection, opened by the client.
func quicConfig(idle time.Duration, server bool) *quic.Config {
	conf := &quic.Config{
		MaxIdleTimeout:        idle,
		KeepAlivePeriod:       0,
		MaxIncomingStreams:    -1,
		MaxIncomingUniStreams: -1,
	}
	if server {
		conf.MaxIncomingStreams = 1
	}
	return conf
}

// ServeQUIC serves QUIC on pc until ctx ends, then stops like
// ServeWebSocket. Each connection's first bidirectional stream (opened by
// the client) is the Conn; since a QUIC stream reaches the server only with
// its first bytes, Handle starts when the client's first message arrives,
// and a client that sends nothing within IdleTimeout is closed. It closes
// pc. Returns nil after a clean stop.
func ServeQUIC(ctx context.Context, pc net.PacketConn, opts ServerOptions) error {
	if err := opts.validate(); err != nil {
		_ = pc.Close()
		return err
	}
	tlsConf := opts.TLS.Clone()
	tlsConf.NextProtos = []string{ALPN}
	tr := &quic.Transport{Conn: pc}
	ln, err := tr.Listen(tlsConf, quicConfig(opts.IdleTimeout, true))
	if err != nil {
		_ = tr.Close()
		_ = pc.Close()
		return fmt.Errorf("tunnel: listen quic: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &quicServer{opts: opts, ctx: ctx}
	for {
		qc, err := ln.Accept(ctx)
		if err != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("tunnel: accept quic: %w", err)
			} else {
				err = nil
			}
			cancel()
			s.conns.stop()
			_ = ln.Close()
			_ = tr.Close()
			_ = pc.Close()
			return err
		}
		if !s.conns.enter() {
			_ = qc.CloseWithError(quicCodeUnavailable, stopReason)
			continue
		}
		go s.serveConn(qc)
	}
}

// quicServer is ServeQUIC's state.
type quicServer struct {
	opts  ServerOptions
	ctx   context.Context // the Handles'; ends when the server stops
	conns connSet
}

// serveConn admits qc, waits for its stream and runs Handle.
func (s *quicServer) serveConn(qc *quic.Conn) {
	defer s.conns.leave()
	cs := qc.ConnectionState().TLS
	node, err := admitPeer(s.opts.Admit, &cs)
	if err != nil {
		code := quicCodeRefused
		if errors.Is(err, ErrUnavailable) {
			code = quicCodeUnavailable
		}
		s.opts.Logger.Info("tunnel refused", "transport", TransportQUIC, "remote", qc.RemoteAddr(), "err", err)
		_ = qc.CloseWithError(code, truncateReason(err.Error(), quicMaxCloseReason))
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.IdleTimeout)
	st, err := qc.AcceptStream(ctx)
	cancel()
	if err != nil {
		s.opts.Logger.Info("tunnel: no stream from an admitted peer", "node", node, "remote", qc.RemoteAddr(), "err", err)
		_ = qc.CloseWithError(quicCodeClosed, "no stream")
		return
	}
	s.conns.run(s.ctx, s.opts, node, newQUICConn(qc, st, s.opts.Codec, s.opts.Meter))
}

// DialQUIC dials addr, opens the stream and writes nothing. A refusal
// surfaces (wrapping ErrRefused, with the server's reason) from the first
// Read or Write, or from DialQUIC itself if it arrives that soon. The dial
// is bounded by ctx and QUIC's handshake timeout.
func DialQUIC(ctx context.Context, addr string, o DialOptions) (Conn, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	tlsConf := o.TLS.Clone()
	tlsConf.NextProtos = []string{ALPN}
	qc, err := quic.DialAddr(ctx, addr, tlsConf, quicConfig(o.IdleTimeout, false))
	if err != nil {
		return nil, quicErr("dial "+addr, err)
	}
	st, err := qc.OpenStreamSync(ctx)
	if err != nil {
		_ = qc.CloseWithError(quicCodeClosed, "")
		return nil, quicErr("open stream to "+addr, err)
	}
	return newQUICConn(qc, st, o.Codec, o.Meter), nil
}
