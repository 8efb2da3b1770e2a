package tunnel

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"
	"unicode/utf8"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/wire"
)

// Conn is one tunnel connection: a WebSocket, or one bidirectional QUIC stream.
type Conn interface {
	// Read returns the next message. One goroutine reads at a time.
	// A frame that does not decode or exceeds the codec's limit is an error
	// (the caller closes the conn). Every error is sticky: the conn is
	// unusable after one, including a deadline's.
	Read() (message.Message, error)
	// Write sends msgs in order and flushes. One goroutine writes at a time.
	// On WebSocket the messages go as ONE binary WS message holding their
	// wire frames back to back (so a batch costs one WS frame); Read splits
	// them. A message that does not encode (wire.ErrFrameTooLarge,
	// message.ErrBadResource) fails Write before any of its bytes are sent;
	// the messages before it may have been sent.
	Write(msgs []message.Message) error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	// Close closes the connection, unblocking Read and Write. reason goes to
	// the peer where the transport allows (WS close frame text, QUIC
	// application error string). Safe to call more than once and
	// concurrently with Read/Write.
	Close(reason string) error
	RemoteAddr() net.Addr
	Transport() string // "websocket" or "quic"
}

const (
	TransportWebSocket = "websocket"
	TransportQUIC      = "quic"
	WebSocketPath      = "/v1/tunnel"
	ALPN               = "tether-tunnel/1" // QUIC ALPN
)

// Meter is told about every message a conn reads or writes, and the bytes
// of its wire frame (length prefix included), so that a caller can count
// tunnel traffic without encoding anything twice. One Meter may serve many
// conns, each calling it from its reading and its writing goroutine at
// once: its methods must be safe for concurrent use, and quick.
type Meter interface {
	// Read is called once per message Read returns, with its frame's bytes.
	Read(frameBytes int)
	// Wrote is called once per Write that succeeded, with its messages and
	// the bytes of their frames. A failed Write reports nothing: what part
	// of it reached the peer is unknown, and the conn is done.
	Wrote(msgs, frameBytes int)
}

// ErrUnavailable is what Admit wraps to mean "try again later" (the node
// limit is reached): WebSocket answers 503 instead of 403, and the dialer's
// error wraps it as well as ErrRefused.
var ErrUnavailable = errors.New("tunnel: server unavailable")

// ErrRefused is what a dialer's error wraps when the server refused the
// connection (Admit failed); the error's text holds the server's reason.
var ErrRefused = errors.New("tunnel: refused by server")

// ServerOptions configure ServeWebSocket and ServeQUIC.
type ServerOptions struct {
	// TLS is the server config; the caller sets ClientAuth
	// RequireAndVerifyClientCert and ClientCAs (or GetConfigForClient, whose
	// configs must do the same). Required. The servers clone it and set
	// NextProtos.
	TLS *tls.Config
	// Codec frames the messages; its MaxFrameSize bounds what a peer may
	// send. The zero value is wire's default.
	Codec wire.Codec
	// Logger receives refusals, failed handshakes and connection ends.
	// Required.
	Logger *slog.Logger
	// Admit runs after the TLS handshake, before the connection is handed
	// over: it returns the peer's identity (node name) or an error that
	// refuses it. WebSocket answers a refusal with HTTP 403 (or 503 when
	// errors.Is(err, ErrUnavailable)) and the error text as the body; QUIC
	// closes the connection with an application error carrying the text.
	// It runs on the connection's goroutine, concurrently with other
	// connections' Admit. Required.
	Admit func(peer *x509.Certificate) (node string, err error)
	// Handle runs one admitted connection in its own goroutine; the server
	// closes c when Handle returns. ctx ends when the server stops, which
	// also closes c. Required.
	Handle func(ctx context.Context, node string, c Conn)
	// IdleTimeout is QUIC's MaxIdleTimeout (default 30s); the WebSocket
	// side relies on the caller's read deadlines. On both it also bounds
	// how long an accepted connection may take to become a Conn.
	IdleTimeout time.Duration
	// Meter, if set, counts every admitted conn's messages and frame bytes.
	// Nil counts nothing, at no cost.
	Meter Meter
}

// defaultIdleTimeout is the IdleTimeout of zero ServerOptions and
// DialOptions.
const defaultIdleTimeout = 30 * time.Second

func (o *ServerOptions) validate() error {
	switch {
	case o.TLS == nil:
		return errors.New("tunnel: ServerOptions.TLS is required")
	case o.Logger == nil:
		return errors.New("tunnel: ServerOptions.Logger is required")
	case o.Admit == nil:
		return errors.New("tunnel: ServerOptions.Admit is required")
	case o.Handle == nil:
		return errors.New("tunnel: ServerOptions.Handle is required")
	case o.TLS.GetConfigForClient == nil && o.TLS.ClientAuth != tls.RequireAndVerifyClientCert:
		return fmt.Errorf("tunnel: ServerOptions.TLS.ClientAuth is %v, want RequireAndVerifyClientCert", o.TLS.ClientAuth)
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = defaultIdleTimeout
	}
	return nil
}

// DialOptions configure DialWebSocket and DialQUIC.
type DialOptions struct {
	// TLS is the client config: the node's certificate and the CA that
	// signs the server's. Required. The dialers clone it.
	TLS *tls.Config
	// Codec frames the messages. The zero value is wire's default.
	Codec wire.Codec
	// IdleTimeout is QUIC's MaxIdleTimeout, and bounds the WebSocket
	// handshake (default 30s).
	IdleTimeout time.Duration
	// Meter, if set, counts the conn's messages and frame bytes. Nil counts
	// nothing, at no cost.
	Meter Meter
}

func (o *DialOptions) validate() error {
	if o.TLS == nil {
		return errors.New("tunnel: DialOptions.TLS is required")
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = defaultIdleTimeout
	}
	return nil
}

// refusedError is a dialer's error for a connection the server refused.
type refusedError struct {
	// how is the transport's word for the refusal: "HTTP 403", "QUIC
	// application error 0x101".
	how         string
	reason      string
	unavailable bool
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("%v (%s): %s", ErrRefused, e.how, e.reason)
}

// Is makes the error match ErrRefused, and ErrUnavailable when the server
// said to try again later.
func (e *refusedError) Is(target error) bool {
	return target == ErrRefused || (e.unavailable && target == ErrUnavailable)
}

// errLocalClose is what Read and Write return once Close was called.
func errLocalClose(op string) error {
	return fmt.Errorf("tunnel: %s: %w", op, net.ErrClosed)
}

// errPeerClose is what Read and Write return once the peer closed the
// connection: how is the transport's word for it, reason the peer's text.
// A clean close (the peer's Close, a server stopping) wraps io.EOF.
func errPeerClose(how, reason string, clean bool) error {
	if clean {
		return fmt.Errorf("tunnel: closed by peer (%s): %q: %w", how, reason, io.EOF)
	}
	return fmt.Errorf("tunnel: closed by peer (%s): %q", how, reason)
}

// truncateReason cuts a close reason to at most n bytes, at a rune boundary.
func truncateReason(reason string, n int) string {
	if len(reason) <= n {
		return reason
	}
	for n > 0 && !utf8.RuneStart(reason[n]) {
		n--
	}
	return reason[:n]
}
