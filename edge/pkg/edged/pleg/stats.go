package pleg

import (
	"fmt"
	"time"
)

// Mode is how PLEG learns of changes.
type Mode int

// Modes.
const (
	// ModeRelisting: relist every RelistPeriod (no working event stream).
	ModeRelisting Mode = iota
	// ModeEvented: relist on each runtime event, and every
	// EventedRelistPeriod as a safety net.
	ModeEvented
)

func (m Mode) String() string {
	if m == ModeEvented {
		return "evented"
	}
	return "relisting"
}

// RelistBuckets are the upper bounds of the relist duration histogram.
var RelistBuckets = [...]time.Duration{
	1 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, 1000 * time.Millisecond,
	2500 * time.Millisecond,
}

// Histogram counts relist durations. Counts[i] counts durations d with
// RelistBuckets[i-1] < d <= RelistBuckets[i] (not cumulative);
// Counts[len(RelistBuckets)] counts those above the last bound.
type Histogram struct {
	Counts [len(RelistBuckets) + 1]uint64
	Sum    time.Duration
}

func (h *Histogram) observe(d time.Duration) {
	i := 0
	for i < len(RelistBuckets) && d > RelistBuckets[i] {
		i++
	}
	h.Counts[i]++
	h.Sum += d
}

// Stats is a snapshot of PLEG's counters.
type Stats struct {
	Mode Mode
	// Relists counts relists whose List succeeded; ListErrors those whose
	// List failed; InspectErrors failed Inspect calls.
	Relists       uint64
	ListErrors    uint64
	InspectErrors uint64
	// LastRelist is the start of the last successful relist (zero before
	// the first), LastRelistDuration how long it took.
	LastRelist         time.Time
	LastRelistDuration time.Duration
	RelistDuration     Histogram
	// Events counts events delivered on the channel, by type; Dropped
	// those discarded because the channel was full.
	Events  map[EventType]uint64
	Dropped uint64
	// StreamOpens counts event streams opened; StreamBreaks those that
	// ended while PLEG was running.
	StreamOpens  uint64
	StreamBreaks uint64
}

// counters is the mutable state behind Stats; guarded by PLEG.mu.
type counters struct {
	mode               Mode
	relists            uint64
	listErrors         uint64
	inspectErrors      uint64
	lastRelist         time.Time
	lastRelistDuration time.Duration
	hist               Histogram
	events             [numEventTypes]uint64
	dropped            uint64
	streamOpens        uint64
	streamBreaks       uint64
}

// Stats returns a snapshot of the counters. Safe to call concurrently.
func (p *PLEG) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &p.counters
	s := Stats{
		Mode: c.mode, Relists: c.relists, ListErrors: c.listErrors, InspectErrors: c.inspectErrors,
		LastRelist: c.lastRelist, LastRelistDuration: c.lastRelistDuration, RelistDuration: c.hist,
		Events: make(map[EventType]uint64), Dropped: c.dropped,
		StreamOpens: c.streamOpens, StreamBreaks: c.streamBreaks,
	}
	for t, n := range c.events {
		if n > 0 {
			s.Events[EventType(t)] = n
		}
	}
	return s
}

// Healthy reports false, with an error saying why, when no relist has
// succeeded yet or the last successful one started more than
// HealthThreshold ago. Safe to call concurrently.
func (p *PLEG) Healthy() (bool, error) {
	p.mu.Lock()
	last := p.counters.lastRelist
	p.mu.Unlock()
	if last.IsZero() {
		return false, fmt.Errorf("pleg: no relist has succeeded yet")
	}
	if since := time.Since(last); since > p.healthThreshold {
		return false, fmt.Errorf("pleg: last successful relist was %s ago; threshold %s",
			since.Round(time.Second), p.healthThreshold)
	}
	return true, nil
}
