package tunnel

import (
	"context"
	"time"
)

// Backoff is the wait between attempts to reach the other side: it starts
// at Initial, doubles up to Max, and each wait is drawn from the upper half
// of the current step, so that thousands of edges cut off together do not
// come back together. Not safe for concurrent use.
type Backoff struct {
	Initial, Max time.Duration
	// Jitter returns a number in [0, 1).
	Jitter func() float64
	// next is the current step; zero means Initial.
	next time.Duration
}

// Reset starts again from Initial, after a success.
func (b *Backoff) Reset() { b.next = 0 }

// Delay returns the next wait and doubles the step up to Max.
func (b *Backoff) Delay() time.Duration {
	if b.next == 0 {
		b.next = b.Initial
	}
	d := time.Duration(float64(b.next) * (0.5 + 0.5*b.Jitter()))
	b.next = min(2*b.next, b.Max)
	return d
}

// Wait waits for the next delay; false means ctx ended first.
func (b *Backoff) Wait(ctx context.Context) bool {
	t := time.NewTimer(b.Delay())
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
