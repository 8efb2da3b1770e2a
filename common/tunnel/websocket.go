package tunnel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/wire"
)

// WebSocket buffer sizes. Memory per idle connection is what matters (a
// cloudcore holds thousands): the server reads through the 4 KiB buffer that
// net/http already gave the connection, and both ends take write buffers
// from a pool only while a message is being written.
const (
	// wsDialReadBufSize is the client's read buffer.
	wsDialReadBufSize = 4 << 10
	// wsServerWriteBufSize is the server's pooled write buffer. A server
	// writes a batch as one WS frame whatever its size (gorilla writes the
	// rest from the caller's slice), so it need not be large.
	wsServerWriteBufSize = 4 << 10
	// wsDialWriteBufSize is the client's pooled write buffer; a client (which
	// must mask) cuts a message into WS frames of this size.
	wsDialWriteBufSize = 32 << 10
	// wsMaxBatchBytes bounds the frames packed into one WS message; a
	// single larger frame goes alone. It keeps batch buffers modest and
	// lets a peer whose frame limit is smaller still read our batches.
	wsMaxBatchBytes = 1 << 20
	// wsCloseTimeout bounds how long Close waits to send the close frame
	// (behind a write in progress, or to a peer that does not read).
	wsCloseTimeout = time.Second
	// wsMaxCloseReason is the most text a close frame holds (125 bytes of
	// payload less the 2-byte code).
	wsMaxCloseReason = 123
	// wsMaxHeaderBytes bounds an upgrade request's headers.
	wsMaxHeaderBytes = 16 << 10
)

// Write buffer pools, one per size, shared by every server and dialer.
var wsServerWritePool, wsDialWritePool sync.Pool

// wsConn is a Conn over a gorilla WebSocket.
type wsConn struct {
	ws       *websocket.Conn
	codec    wire.Codec
	batchMax int   // most bytes of frames in one WS message
	meter    Meter // nil counts nothing

	// cur is the WS message being read (through in, counting it for the
	// meter), nil between messages; readErr is Read's sticky error. They
	// belong to the reading goroutine.
	cur     io.Reader
	in      countingReader
	readErr error

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

func newWSConn(ws *websocket.Conn, codec wire.Codec, meter Meter) *wsConn {
	limit := codec.FrameLimit() + 4 // one whole frame, its length prefix included
	ws.SetReadLimit(int64(limit))
	return &wsConn{ws: ws, codec: codec, batchMax: min(limit, wsMaxBatchBytes), meter: meter}
}

func (c *wsConn) Read() (message.Message, error) {
	if c.readErr == nil {
		m, err := c.read()
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

// read returns the next frame of the current WS message, moving on to the
// next message when this one is used up.
func (c *wsConn) read() (message.Message, error) {
	for {
		first := c.cur == nil
		if first {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				return message.Message{}, err
			}
			if typ != websocket.BinaryMessage {
				return message.Message{}, errors.New("a text WebSocket message, want binary")
			}
			c.cur = c.in.source(r, c.meter)
		}
		m, err := c.codec.ReadFrame(c.cur)
		if err != io.EOF {
			return m, err
		}
		if first {
			return message.Message{}, errors.New("an empty WebSocket message")
		}
		c.cur = nil
	}
}

func (c *wsConn) Write(msgs []message.Message) error {
	if c.closed.Load() {
		return errLocalClose("write")
	}
	n, err := writeFrames(c.codec, msgs, c.batchMax, func(batch []byte) error {
		if err := c.ws.WriteMessage(websocket.BinaryMessage, batch); err != nil {
			return c.wrapErr("write", err)
		}
		return nil
	})
	return wrote(c.meter, msgs, n, err)
}

func (c *wsConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }
func (c *wsConn) RemoteAddr() net.Addr               { return c.ws.RemoteAddr() }
func (c *wsConn) Transport() string                  { return TransportWebSocket }

// Close sends a close frame carrying reason (best effort, for at most
// wsCloseTimeout) and closes the connection.
func (c *wsConn) Close(reason string) error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, truncateReason(reason, wsMaxCloseReason))
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(wsCloseTimeout))
		c.closeErr = c.ws.Close()
	})
	return c.closeErr
}

// wrapErr says what a failed read or write means: a local Close, the
// peer's close (a clean one wraps io.EOF), or the transport's error.
func (c *wsConn) wrapErr(op string, err error) error {
	if c.closed.Load() {
		return errLocalClose(op)
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		clean := ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway
		return errPeerClose(fmt.Sprintf("WebSocket close %d", ce.Code), ce.Text, clean)
	}
	return fmt.Errorf("tunnel: %s: %w", op, err)
}

// ServeWebSocket serves wss on ln (a plain TCP listener; TLS is applied
// here with opts.TLS) until ctx ends, then stops accepting, cancels every
// Handle's ctx, closes every conn and waits for the Handles to return. It
// closes ln. Returns nil after a clean stop.
func ServeWebSocket(ctx context.Context, ln net.Listener, opts ServerOptions) error {
	if err := opts.validate(); err != nil {
		_ = ln.Close()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &wsServer{
		opts: opts,
		ctx:  ctx,
		upgrader: websocket.Upgrader{
			HandshakeTimeout: opts.IdleTimeout,
			WriteBufferSize:  wsServerWriteBufSize,
			WriteBufferPool:  &wsServerWritePool,
			// Peers are nodes with client certificates, not browsers.
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
	mux := http.NewServeMux()
	mux.Handle(WebSocketPath, s)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: opts.IdleTimeout, // bounds the TLS handshake too
		MaxHeaderBytes:    wsMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelInfo),
	}
	tlsConf := opts.TLS.Clone()
	tlsConf.NextProtos = []string{"http/1.1"}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(tls.NewListener(ln, tlsConf)) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	cancel()
	_ = srv.Close()
	s.conns.stop()
	if err == nil {
		err = <-served
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("tunnel: serve websocket: %w", err)
}

// wsServer is ServeWebSocket's handler of WebSocketPath.
type wsServer struct {
	opts     ServerOptions
	ctx      context.Context // the Handles'; ends when the server stops
	upgrader websocket.Upgrader
	conns    connSet
}

func (s *wsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "tunnel: want a WebSocket upgrade", http.StatusBadRequest)
		return
	}
	if !s.conns.enter() {
		http.Error(w, stopReason, http.StatusServiceUnavailable)
		return
	}
	node, c, ok := s.upgrade(w, r)
	if !ok {
		s.conns.leave()
		return
	}
	// Handle gets a goroutine of its own so that this one returns, and
	// net/http lets go of the request and its buffers (some 10 KiB).
	go func() {
		defer s.conns.leave()
		s.conns.run(s.ctx, s.opts, node, c)
	}()
}

// upgrade admits the peer and upgrades the request, or answers it with
// the refusal.
func (s *wsServer) upgrade(w http.ResponseWriter, r *http.Request) (string, *wsConn, bool) {
	node, err := admitPeer(s.opts.Admit, r.TLS)
	if err != nil {
		status := http.StatusForbidden
		if errors.Is(err, ErrUnavailable) {
			status = http.StatusServiceUnavailable
		}
		s.opts.Logger.Info("tunnel refused", "transport", TransportWebSocket, "remote", r.RemoteAddr, "status", status, "err", err)
		http.Error(w, err.Error(), status)
		return "", nil, false
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has answered the request.
		s.opts.Logger.Info("tunnel upgrade failed", "node", node, "remote", r.RemoteAddr, "err", err)
		return "", nil, false
	}
	return node, newWSConn(ws, s.opts.Codec, s.opts.Meter), true
}

// DialWebSocket dials wss://addr/v1/tunnel. A refusal is an error wrapping
// ErrRefused with the server's text (and ErrUnavailable for a 503). The
// handshake is bounded by ctx and o.IdleTimeout.
func DialWebSocket(ctx context.Context, addr string, o DialOptions) (Conn, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	d := websocket.Dialer{
		TLSClientConfig:  o.TLS.Clone(),
		HandshakeTimeout: o.IdleTimeout,
		ReadBufferSize:   wsDialReadBufSize,
		WriteBufferSize:  wsDialWriteBufSize,
		WriteBufferPool:  &wsDialWritePool,
	}
	url := "wss://" + addr + WebSocketPath
	ws, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if resp != nil && errors.Is(err, websocket.ErrBadHandshake) {
			return nil, wsRefusal(url, resp)
		}
		return nil, fmt.Errorf("tunnel: dial %s: %w", url, err)
	}
	return newWSConn(ws, o.Codec, o.Meter), nil
}

// wsRefusal turns a failed upgrade's response into an error: a refusal for
// 403 and 503, else a plain error (a 404 is not a tunnel server).
func wsRefusal(url string, resp *http.Response) error {
	body, _ := io.ReadAll(resp.Body) // gorilla kept at most 1 KiB of it
	text := strings.TrimSpace(string(body))
	switch resp.StatusCode {
	case http.StatusForbidden, http.StatusServiceUnavailable:
		return &refusedError{
			how:         "HTTP " + resp.Status,
			reason:      text,
			unavailable: resp.StatusCode == http.StatusServiceUnavailable,
		}
	}
	return fmt.Errorf("tunnel: dial %s: HTTP %s: %s", url, resp.Status, text)
}
