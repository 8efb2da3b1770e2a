package podsync

import (
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Back-off defaults, the kubelet's.
const (
	DefaultBackoffInitial = 10 * time.Second
	DefaultBackoffMax     = 5 * time.Minute
	DefaultBackoffReset   = 10 * time.Minute
)

// Key names one container of one pod for the crash-loop back-off.
type Key struct {
	UID       types.UID
	Container string
}

// backoffEntry is the delay owed after one counted exit.
type backoffEntry struct {
	delay time.Duration
	exit  time.Time // FinishedAt of the exit the delay applies to
}

// Backoff is the crash-loop back-off of a node's containers: after each
// exit a container waits before it is started again, 10 s after the first
// exit, doubling per exit up to 5 min; a container that ran for 10 min
// before it exited starts over at 10 s.
//
// It counts exits, not starts: Exit is idempotent for one exit (the same
// FinishedAt), so a pod worker may compute its actions any number of
// times from the same snapshot without the delay growing.
//
// The zero value is ready to use with the defaults. Not safe for
// concurrent use: one pod worker owns the entries of its pod, and the
// shell serialises access (or keeps one Backoff per worker).
type Backoff struct {
	// Initial is the delay after the first exit; 0 means 10 s.
	Initial time.Duration
	// Max caps the delay; 0 means 5 min.
	Max time.Duration
	// Reset is how long a container must have run for the next exit to
	// count as a first one; 0 means 10 min.
	Reset time.Duration

	entries map[Key]backoffEntry
}

func (b *Backoff) initial() time.Duration { return orDefault(b.Initial, DefaultBackoffInitial) }
func (b *Backoff) max() time.Duration     { return orDefault(b.Max, DefaultBackoffMax) }
func (b *Backoff) reset() time.Duration   { return orDefault(b.Reset, DefaultBackoffReset) }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Exit counts the exit of k's container that started at startedAt and
// finished at finishedAt, and returns the time before which it must not
// be started again. Counting the same exit again (same finishedAt, or an
// older one) changes nothing and returns the same time. A zero startedAt
// means unknown: the run is then measured from the end of the previous
// delay.
func (b *Backoff) Exit(k Key, startedAt, finishedAt time.Time) time.Time {
	e, ok := b.entries[k]
	if ok && !finishedAt.After(e.exit) {
		return e.exit.Add(e.delay)
	}
	switch {
	case !ok:
		e.delay = b.initial()
	case b.ranLong(e, startedAt, finishedAt):
		e.delay = b.initial()
	default:
		e.delay = min(2*e.delay, b.max())
	}
	e.exit = finishedAt
	if b.entries == nil {
		b.entries = make(map[Key]backoffEntry)
	}
	b.entries[k] = e
	return finishedAt.Add(e.delay)
}

// ranLong reports whether the run that ended at finishedAt lasted the
// reset period.
func (b *Backoff) ranLong(prev backoffEntry, startedAt, finishedAt time.Time) bool {
	if startedAt.IsZero() {
		startedAt = prev.exit.Add(prev.delay)
	}
	return finishedAt.Sub(startedAt) >= b.reset()
}

// Until returns the time before which k's container must not be started,
// and whether that is still ahead of now.
func (b *Backoff) Until(k Key, now time.Time) (time.Time, bool) {
	e, ok := b.entries[k]
	if !ok {
		return time.Time{}, false
	}
	t := e.exit.Add(e.delay)
	return t, now.Before(t)
}

// Delay returns the delay owed after k's last counted exit, 0 if none.
func (b *Backoff) Delay(k Key) time.Duration { return b.entries[k].delay }

// ForgetPod drops the entries of a pod, when it is gone from the node.
func (b *Backoff) ForgetPod(uid types.UID) {
	for k := range b.entries {
		if k.UID == uid {
			delete(b.entries, k)
		}
	}
}

// Prune drops the entries whose last counted exit is older than the
// reset period plus the longest delay: their delay has long run out, and
// a container started after it has by now run for the reset period, so
// its next exit counts as a first one anyway.
func (b *Backoff) Prune(now time.Time) {
	for k, e := range b.entries {
		if now.Sub(e.exit) > b.reset()+b.max() {
			delete(b.entries, k)
		}
	}
}
