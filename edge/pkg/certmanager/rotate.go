package certmanager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Rotation happens between these fractions of a certificate's lifetime.
const (
	rotateAtMin    = 0.7
	rotateAtSpread = 0.2
)

// RotationDelay is the time from now until notBefore + (0.7 + 0.2*r) *
// (notAfter - notBefore), never negative. r is clamped to [0,1].
func RotationDelay(notBefore, notAfter, now time.Time, r float64) time.Duration {
	r = min(max(r, 0), 1)
	lifetime := notAfter.Sub(notBefore)
	at := notBefore.Add(time.Duration((rotateAtMin + rotateAtSpread*r) * float64(lifetime)))
	return max(at.Sub(now), 0)
}

// nextBackoff doubles prev up to ceiling.
func nextBackoff(prev, ceiling time.Duration) time.Duration {
	return min(2*prev, ceiling)
}

// Run rotates the certificate until ctx ends, then returns nil. It must be
// called after a successful Bootstrap.
func (m *Manager) Run(ctx context.Context) error {
	if m.Current() == nil {
		return errors.New("certmanager: Run before a successful Bootstrap")
	}
	for {
		leaf := m.Current().Leaf
		now := m.opts.Clock()
		delay := RotationDelay(leaf.NotBefore, leaf.NotAfter, now, m.opts.Jitter())
		m.opts.Logger.Info("next certificate rotation", "at", now.Add(delay), "in", delay, "notAfter", leaf.NotAfter)
		if !wait(ctx, delay) {
			return nil
		}
		if !m.rotateUntilDone(ctx) {
			return nil
		}
	}
}

// rotateUntilDone rotates, retrying with back-off; false when ctx ended
// first.
func (m *Manager) rotateUntilDone(ctx context.Context) bool {
	backoff := m.opts.RetryInitial
	for {
		err := m.rotate(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		notAfter := m.Current().Leaf.NotAfter
		if m.opts.Clock().After(notAfter) {
			m.opts.Logger.Error("certificate rotation failed and the certificate has expired: the node must join again with a new token",
				"err", err, "notAfter", notAfter, "retryIn", backoff)
		} else {
			m.opts.Logger.Warn("certificate rotation failed", "err", err, "notAfter", notAfter, "retryIn", backoff)
		}
		if !wait(ctx, backoff) {
			return false
		}
		backoff = nextBackoff(backoff, m.opts.RetryMax)
	}
}

// rotate replaces key and certificate once, authenticated by the current
// certificate.
func (m *Manager) rotate(ctx context.Context) error {
	ca, old := m.identity()
	keyPEM, csrPEM, err := m.newKeyAndCSR(m.pendingKeyFile())
	if err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	certPEM, err := m.requestCertificate(ctx, m.tlsConfig(ca, true), "", csrPEM)
	if err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	cert, err := m.checkPair(ca, certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("rotate: issued certificate: %w", err)
	}
	// Certificate first: if we die before the key is in place, Bootstrap
	// adopts the pending key.
	if err := writeFile(m.opts.CertFile, certPEM, publicMode); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	if err := writeFile(m.opts.KeyFile, keyPEM, privateMode); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	if err := os.Remove(m.pendingKeyFile()); err != nil {
		m.opts.Logger.Warn("remove pending key", "err", err)
	}
	m.setIdentity(ca, cert)
	m.opts.Logger.Info("rotated node certificate", "node", m.opts.NodeName,
		"oldSerial", old.Leaf.SerialNumber.String(), "serial", cert.Leaf.SerialNumber.String(), "notAfter", cert.Leaf.NotAfter)
	return nil
}

// wait returns true after d, false if ctx ends first.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
