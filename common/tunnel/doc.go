// Package tunnel carries messages between cloudcore and edgecore over one
// long-lived, mutually authenticated connection per edge node.
//
// # Transports
//
// A Conn is one tunnel connection, over WebSocket (wss on WebSocketPath,
// the default) or over one bidirectional QUIC stream (ALPN "tether-tunnel/1").
// Each message travels as one common/wire frame. On WebSocket, Write sends
// its whole batch as one binary WS message holding the frames back to back
// (a batch over 1 MiB, or over the codec's frame limit, is cut into several
// messages between frames); Read hands the frames out one at a time. On
// QUIC the frames follow one another on the stream.
//
// The cloud side calls ServeWebSocket and/or ServeQUIC; the edge side calls
// DialWebSocket or DialQUIC. Both ends use mTLS: the server's TLS config
// requires and verifies client certificates, and after the handshake the
// server asks ServerOptions.Admit for the peer's node name (DESIGN: the CN of
// its certificate, never a header). A refused peer never becomes a Conn on
// the server; its dialer gets an error wrapping ErrRefused with the server's
// reason, and also ErrUnavailable when Admit said to try again later. On
// WebSocket the refusal comes from the dial; on QUIC, whose client finishes
// its handshake before the server has checked its certificate, from the
// dial or the first Read or Write. A handshake that fails (a certificate
// from another CA) is an error from the dial or the first Read.
//
// On QUIC a stream reaches the server only with its first bytes: the
// client speaks first (the edge's manifest), and the server's Handle starts
// when that arrives.
//
// # Lifetimes
//
// A server runs each admitted conn's Handle in its own goroutine and closes
// the conn when Handle returns. When the server's ctx ends it stops
// accepting, cancels every Handle's ctx, closes every conn (reason
// "server stopping") and returns only after every Handle has returned. The
// listener or packet conn it was given is closed on return.
//
// # Concurrency
//
// One goroutine may call Read while another calls Write; neither method may
// be called by two goroutines at once. SetReadDeadline belongs with Read's
// goroutine and SetWriteDeadline with Write's. Close may be called from any
// goroutine, any number of times: it unblocks a Read or Write in progress.
//
// # Errors
//
// Every Read error is sticky, and the caller then closes the conn: a frame
// that does not decode or exceeds the codec's limit (the error wraps
// wire.ErrMalformed, wire.ErrFrameTooLarge or wire.ErrUnsupportedVersion;
// on WebSocket an over-long message ends in websocket.ErrReadLimit), a
// deadline (a net.Error whose Timeout is true, and os.ErrDeadlineExceeded),
// the peer's close (wrapping io.EOF when clean, with the peer's reason in
// the text), a refusal (ErrRefused), or the conn's own Close (net.ErrClosed).
// Write reports the same kinds, and encoding errors (wire.ErrFrameTooLarge,
// message.ErrBadResource) before any byte of the failing message is sent.
//
// # Metering
//
// A Meter in ServerOptions or DialOptions hears of every message a conn
// reads (once Read returns it) and of every Write that succeeded, with the
// bytes of the messages' wire frames as they crossed the transport, length
// prefixes included: the codec's own reads and writes are counted, nothing
// is encoded twice. A failed Write reports nothing. Its methods are called
// from every conn's reading and writing goroutines at once.
//
// # Memory
//
// cloudcore holds thousands of idle conns, so an idle conn keeps no
// buffer of its own beyond the transport's: batches are encoded into
// pooled buffers, WebSocket write buffers come from a pool while a message
// is written, and frames are read into buffers sized to each frame.
// Keepalives are the caller's: QUIC sends none of its own, and its
// MaxIdleTimeout is ServerOptions.IdleTimeout.
package tunnel
