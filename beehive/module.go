package beehive

import (
	"context"
	"fmt"
	"time"
)

// Module is one component on the bus. The bus calls Start in a goroutine of
// its own; Start runs until ctx is done and returns nil on a clean stop.
// A module talks to others through the *Bus it was built with (Send,
// Receive(ctx, Name()), ...).
type Module interface {
	// Name is unique on the bus; messages are addressed to it.
	Name() string
	// Group names the module's kind ("hub", "meta", "edged"); several
	// modules may share one. Empty means no group.
	Group() string
	// Start runs the module until ctx is done.
	Start(ctx context.Context) error
}

// OnError says what the bus does when a module's Start returns a non-nil
// error while the bus is running.
type OnError int

const (
	// Restart starts the module again after a capped exponential back-off.
	Restart OnError = iota
	// StopProcess stops the bus: Run cancels every other module, joins them
	// and returns the module's error.
	StopProcess
)

// String names the policy for logs.
func (o OnError) String() string {
	switch o {
	case Restart:
		return "restart"
	case StopProcess:
		return "stop-process"
	default:
		return fmt.Sprintf("OnError(%d)", int(o))
	}
}

// Defaults for Policy's zero fields.
const (
	DefaultBackoffInitial = time.Second
	DefaultBackoffMax     = 30 * time.Second
)

// Policy is how the bus supervises one module. The zero Policy restarts
// the module with the default back-off.
type Policy struct {
	// OnError is what to do when Start fails. Default Restart.
	OnError OnError
	// BackoffInitial is the wait before the first restart, and after a run
	// that lasted at least ResetAfter. Default 1s; negative is an error.
	BackoffInitial time.Duration
	// BackoffMax caps the wait, which doubles after each failed run.
	// Default 30s; less than BackoffInitial is an error.
	BackoffMax time.Duration
	// ResetAfter is how long a run must last for the next failure to count
	// as a first one again (wait BackoffInitial). Default BackoffMax.
	ResetAfter time.Duration
}

// withDefaults fills zero fields and validates p.
func (p Policy) withDefaults() (Policy, error) {
	if p.OnError != Restart && p.OnError != StopProcess {
		return p, fmt.Errorf("policy: unknown OnError %d", int(p.OnError))
	}
	if p.BackoffInitial < 0 || p.BackoffMax < 0 || p.ResetAfter < 0 {
		return p, fmt.Errorf("policy: negative duration")
	}
	if p.BackoffInitial == 0 {
		p.BackoffInitial = DefaultBackoffInitial
	}
	if p.BackoffMax == 0 {
		p.BackoffMax = max(DefaultBackoffMax, p.BackoffInitial)
	}
	if p.BackoffMax < p.BackoffInitial {
		return p, fmt.Errorf("policy: BackoffMax %v < BackoffInitial %v", p.BackoffMax, p.BackoffInitial)
	}
	if p.ResetAfter == 0 {
		p.ResetAfter = p.BackoffMax
	}
	return p, nil
}

// nextDelay is the wait before restarting a module whose last run lasted
// ran, given the wait used before that run (0 for none yet).
func nextDelay(prev, ran time.Duration, p Policy) time.Duration {
	if prev == 0 || ran >= p.ResetAfter {
		return p.BackoffInitial
	}
	if prev >= p.BackoffMax/2 {
		return p.BackoffMax
	}
	return 2 * prev
}
