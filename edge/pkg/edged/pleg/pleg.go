package pleg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// Defaults of Options.
const (
	DefaultRelistPeriod        = time.Second
	DefaultEventedRelistPeriod = 30 * time.Second
	DefaultHealthThreshold     = 3 * time.Minute
	DefaultEventBuffer         = 1000
)

// Back-off between attempts to (re)open the runtime's event stream.
const (
	streamBackoffMin = time.Second
	streamBackoffMax = 30 * time.Second
)

// Options configure a PLEG.
type Options struct {
	// Runtime is listed, inspected and streamed from. Required.
	Runtime Runtime
	// Logger; nil discards.
	Logger *slog.Logger
	// RelistPeriod is the relist period without a working event stream.
	// Zero means DefaultRelistPeriod (1s).
	RelistPeriod time.Duration
	// EventedRelistPeriod is the safety-net relist period while the event
	// stream works. Zero means DefaultEventedRelistPeriod (30s).
	EventedRelistPeriod time.Duration
	// HealthThreshold: Healthy is false once no relist has succeeded for
	// this long. Zero means DefaultHealthThreshold (3m).
	HealthThreshold time.Duration
	// EventBuffer is the capacity of the Events channel; events that do
	// not fit are dropped and counted. Zero means DefaultEventBuffer (1000).
	EventBuffer int
	// Metrics observes relists; nil means collectors on a registry of
	// their own (measured, never served).
	Metrics *Metrics
}

func (o *Options) validate() error {
	if o.Runtime == nil {
		return errors.New("pleg: Options.Runtime is required")
	}
	if o.RelistPeriod < 0 || o.EventedRelistPeriod < 0 || o.HealthThreshold < 0 || o.EventBuffer < 0 {
		return errors.New("pleg: negative period, threshold or buffer in Options")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RelistPeriod == 0 {
		o.RelistPeriod = DefaultRelistPeriod
	}
	if o.EventedRelistPeriod == 0 {
		o.EventedRelistPeriod = DefaultEventedRelistPeriod
	}
	if o.HealthThreshold == 0 {
		o.HealthThreshold = DefaultHealthThreshold
	}
	if o.EventBuffer == 0 {
		o.EventBuffer = DefaultEventBuffer
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	return nil
}

// PLEG is the pod lifecycle event generator. See the package doc.
type PLEG struct {
	rt              Runtime
	log             *slog.Logger
	relistPeriod    time.Duration
	eventedPeriod   time.Duration
	healthThreshold time.Duration
	metrics         *Metrics

	events chan Event
	cache  *Cache
	// kick asks the Run loop to relist now; capacity 1, so bursts
	// coalesce into one pending relist.
	kick    chan struct{}
	started atomic.Bool

	// Owned by the Run goroutine (relist):
	// last is the previous listing, the base of the next Diff; a pod
	// whose inspection failed keeps its older listing so its events come
	// again.
	last *runstate.Snapshot
	// reinspect holds pods whose inspection failed.
	reinspect map[types.UID]struct{}

	mu sync.Mutex
	// Guarded by mu:
	counters counters
}

// New returns a PLEG; call Run to start it.
func New(opts Options) (*PLEG, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &PLEG{
		rt:              opts.Runtime,
		log:             opts.Logger,
		relistPeriod:    opts.RelistPeriod,
		eventedPeriod:   opts.EventedRelistPeriod,
		healthThreshold: opts.HealthThreshold,
		metrics:         opts.Metrics,
		events:          make(chan Event, opts.EventBuffer),
		cache:           newCache(),
		kick:            make(chan struct{}, 1),
		reinspect:       make(map[types.UID]struct{}),
	}, nil
}

// Events returns the channel events are delivered on. It is never closed;
// readers stop when their own context ends.
func (p *PLEG) Events() <-chan Event { return p.events }

// Cache returns the pod cache PLEG keeps up to date.
func (p *PLEG) Cache() *Cache { return p.cache }

// Run relists now and then periodically (and on runtime events) until ctx
// ends, then stops its goroutines, waits for them and returns nil. It
// returns an error only if called more than once.
func (p *PLEG) Run(ctx context.Context) error {
	if !p.started.CompareAndSwap(false, true) {
		return errors.New("pleg: Run called more than once")
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { p.watchRuntime(ctx) })

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-p.kick:
		}
		p.relist(ctx)
		timer.Reset(p.period())
	}
}

// requestRelist asks for a relist now; never blocks.
func (p *PLEG) requestRelist() {
	select {
	case p.kick <- struct{}{}:
	default: // one is pending already
	}
}

func (p *PLEG) period() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counters.mode == ModeEvented {
		return p.eventedPeriod
	}
	return p.relistPeriod
}

// relist lists the runtime, diffs against the previous listing, inspects
// the pods that changed, updates the cache and delivers the events.
func (p *PLEG) relist(ctx context.Context) {
	start := time.Now()
	snap, err := p.rt.List(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		p.log.Warn("pleg: relist failed", "step", "list runtime", "err", err)
		p.mu.Lock()
		p.counters.listErrors++
		p.mu.Unlock()
		return
	}
	if snap == nil {
		snap = &runstate.Snapshot{}
	}
	events := Diff(p.last, snap)
	update, inspectErrs := p.inspect(ctx, start, snap, events)
	p.last = p.nextLast(snap, update.stale)
	p.cache.apply(update)
	sent, dropped := p.deliver(events, update.stale)
	if dropped > 0 {
		p.log.Warn("pleg: event channel full; events dropped", "dropped", dropped)
	}
	p.record(start, time.Since(start), inspectErrs, sent, dropped)
}

// inspect inspects the pods of snap that have events, failed inspection
// before, or are not cached yet, and returns the cache update.
func (p *PLEG) inspect(ctx context.Context, start time.Time, snap *runstate.Snapshot, events []Event) (cacheUpdate, uint64) {
	u := cacheUpdate{at: start, set: make(map[types.UID]*runstate.Pod), stale: make(map[types.UID]struct{})}
	changed := make(map[types.UID]struct{})
	for _, e := range events {
		changed[e.PodUID] = struct{}{}
	}
	for uid := range p.reinspect {
		changed[uid] = struct{}{}
	}
	var errs uint64
	for uid, pod := range snap.Pods {
		if _, ok := changed[uid]; !ok && p.cache.has(uid) {
			continue
		}
		if err := p.rt.Inspect(ctx, pod); err != nil {
			errs++
			u.stale[uid] = struct{}{}
			p.log.Warn("pleg: inspect pod failed; retrying on the next relist", "pod", uid, "err", err)
			continue
		}
		u.set[uid] = pod
	}
	for uid := range podsOf(p.last) {
		if _, ok := snap.Pods[uid]; !ok {
			u.removed = append(u.removed, uid)
		}
	}
	return u, errs
}

// nextLast is the base of the next Diff: snap, except that a pod whose
// inspection failed keeps its previous listing (or stays absent), so the
// next relist reports its changes again.
func (p *PLEG) nextLast(snap *runstate.Snapshot, stale map[types.UID]struct{}) *runstate.Snapshot {
	clear(p.reinspect)
	if len(stale) == 0 {
		return snap
	}
	next := &runstate.Snapshot{Taken: snap.Taken, Pods: make(map[types.UID]*runstate.Pod, len(snap.Pods))}
	for uid, pod := range snap.Pods {
		next.Pods[uid] = pod
	}
	for uid := range stale {
		p.reinspect[uid] = struct{}{}
		if old, ok := podsOf(p.last)[uid]; ok {
			next.Pods[uid] = old
		} else {
			delete(next.Pods, uid)
		}
	}
	return next
}

// deliver sends the events of pods not marked stale without blocking.
func (p *PLEG) deliver(events []Event, stale map[types.UID]struct{}) (sent [numEventTypes]uint64, dropped uint64) {
	for _, e := range events {
		if _, ok := stale[e.PodUID]; ok {
			continue
		}
		select {
		case p.events <- e:
			sent[e.Type]++
		default:
			dropped++
		}
	}
	return sent, dropped
}

func (p *PLEG) record(start time.Time, took time.Duration, inspectErrs uint64, sent [numEventTypes]uint64, dropped uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &p.counters
	p.metrics.RelistDuration.Observe(took.Seconds())
	if !c.lastRelist.IsZero() {
		p.metrics.RelistInterval.Observe(start.Sub(c.lastRelist).Seconds())
	}
	c.relists++
	c.inspectErrors += inspectErrs
	c.lastRelist = start
	c.lastRelistDuration = took
	c.hist.observe(took)
	for t, n := range sent {
		c.events[t] += n
	}
	c.dropped += dropped
}

// setMode records the mode, logging a change at Info.
func (p *PLEG) setMode(m Mode, reason string) {
	p.mu.Lock()
	old := p.counters.mode
	p.counters.mode = m
	p.mu.Unlock()
	if old != m {
		period := p.relistPeriod
		if m == ModeEvented {
			period = p.eventedPeriod
		}
		p.log.Info(fmt.Sprintf("pleg: %s mode", m), "relistPeriod", period, "reason", reason)
	}
}
