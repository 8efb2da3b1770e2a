package tunnel

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
)

// stopReason is the close reason every connection gets when its server stops.
const stopReason = "server stopping"

// connSet is a server's bookkeeping: the goroutines serving connections,
// which it joins, and the admitted conns, which it closes on stop.
type connSet struct {
	// wg counts the goroutines that entered; Add happens under mu while
	// not stopping, so every Add precedes stop's Wait.
	wg sync.WaitGroup

	// mu guards the fields below.
	mu       sync.Mutex
	stopping bool
	conns    map[Conn]struct{}
}

// enter registers the calling connection goroutine, which calls leave when
// done. It returns false, registering nothing, once the server is stopping.
func (s *connSet) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *connSet) leave() { s.wg.Done() }

// add tracks c until remove. It returns false once the server is stopping;
// the caller then closes c itself.
func (s *connSet) add(c Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[Conn]struct{})
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *connSet) remove(c Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// stop refuses new goroutines and conns, closes every tracked conn (all at
// once: a close may wait a moment for a stuck writer) and waits for the
// goroutines that entered to leave.
func (s *connSet) stop() {
	s.mu.Lock()
	s.stopping = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	var closing sync.WaitGroup
	for c := range conns {
		closing.Go(func() { _ = c.Close(stopReason) })
	}
	closing.Wait()
	s.wg.Wait()
}

// run hands the admitted c to opts.Handle and closes c when Handle returns,
// tracking c meanwhile so that stop can close it.
func (s *connSet) run(ctx context.Context, opts ServerOptions, node string, c Conn) {
	if !s.add(c) {
		_ = c.Close(stopReason)
		return
	}
	defer s.remove(c)
	log := opts.Logger.With("node", node, "transport", c.Transport(), "remote", c.RemoteAddr())
	log.Debug("tunnel connected")
	opts.Handle(ctx, node, c)
	_ = c.Close("")
	log.Debug("tunnel closed")
}

// admitPeer checks that the peer presented a verified client certificate (a
// second line behind the TLS config's ClientAuth) and asks the caller's
// Admit for its node name.
func admitPeer(fn func(*x509.Certificate) (string, error), cs *tls.ConnectionState) (string, error) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.PeerCertificates) == 0 {
		return "", errors.New("tunnel: no verified client certificate")
	}
	node, err := fn(cs.PeerCertificates[0])
	if err != nil {
		return "", err
	}
	if node == "" {
		return "", fmt.Errorf("tunnel: no node name for %q", cs.PeerCertificates[0].Subject.CommonName)
	}
	return node, nil
}
