// Package httpserver runs an http.Server inside a beehive module that the
// bus may restart. The listener is bound when the module is built, so an
// address in use is reported before anything starts; Serve takes it over,
// and binds again on the next Serve, because an http.Server cannot serve
// again after Shutdown. Safe for concurrent use.
package httpserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Listener is a TCP listener that Serve re-creates after a restart.
type Listener struct {
	address string

	// mu guards ln: bound, or nil between a Serve that returned and the next.
	mu sync.Mutex
	ln net.Listener
}

// Listen binds address. A server that is not a plain http.Server (a
// tunnel server, or one with its own shutdown) takes the listener with
// Bind in its Start and gives it back with Close when Start returns. Later binds ask for the address bound now, so a
// restarted module keeps its port even when address has port 0.
func Listen(address string) (*Listener, error) {
	l := &Listener{address: address}
	ln, err := l.Bind()
	if err != nil {
		return nil, err
	}
	l.address = ln.Addr().String()
	return l, nil
}

// Addr is the bound address (useful with port 0); nil between a Serve that
// returned and the next.
func (l *Listener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

// Serve runs srv until ctx ends, then shuts it down, giving requests in
// flight up to grace. It serves TLS when srv.TLSConfig is set (with its
// certificates). The listener is closed when Serve returns.
func (l *Listener) Serve(ctx context.Context, srv *http.Server, grace time.Duration) error {
	ln, err := l.Bind()
	if err != nil {
		return err
	}
	defer l.Close()
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	<-errc // Serve returns ErrServerClosed once Shutdown has begun
	return err
}

// Bind returns the listener, binding it again if it was closed.
func (l *Listener) Bind() (net.Listener, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln == nil {
		ln, err := net.Listen("tcp", l.address)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", l.address, err)
		}
		l.ln = ln
	}
	return l.ln, nil
}

// Close closes the listener; the next Bind or Serve binds it again.
func (l *Listener) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		l.ln.Close()
	}
	l.ln = nil
}
