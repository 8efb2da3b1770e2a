// Package pleg is Edged's pod lifecycle event generator: it watches the
// container runtime, turns what changed into per-pod events for the pod
// workers, and keeps a cache of each pod's inspected runtime state.
//
// # Pieces
//
// Diff is a pure function over two runstate snapshots. PLEG is the thin
// loop around it: List the Runtime, Diff against the previous listing,
// Inspect the pods that changed, update the Cache, deliver the events.
//
// # Events
//
// Per container (matched by ID within its pod), comparing states:
//
//	previous            now                  events
//	absent/created/     running              ContainerStarted
//	unknown/exited
//	absent/created/     exited               ContainerDied
//	unknown/running
//	anything else       created or unknown   ContainerChanged
//	exited, created     absent               ContainerRemoved
//	running, unknown    absent               ContainerDied, ContainerRemoved
//
// A container created and exited between two relists gives ContainerDied
// only: we never saw it running (Detail.StartedAt, after inspection, says
// whether it ran). Per sandbox (by ID): SandboxChanged when it appears,
// switches between ready and not ready, or is no longer listed, so a pod
// worker resyncs whenever the pod's sandbox set changes. Per pod:
// PodRemoved when the runtime lists nothing of it any more. The first
// relist diffs against an empty runtime, so everything present is
// reported. Events are sorted by pod UID; within a pod sandbox events,
// then container events, then PodRemoved; then by ID, then by type.
// Events say what changed; deciders read the pod's state from the Cache.
//
// # Delivery
//
// Events go out on one buffered channel (Events; capacity
// Options.EventBuffer, default 1000) read by one consumer, the pod workers'
// dispatcher. Sending never blocks a relist: an event that does not fit is
// dropped, counted in Stats.Dropped and logged. Since the Cache is updated
// regardless and pod workers also resync periodically, a dropped event
// delays a reaction, it never loses state. The channel is never closed.
// A pod whose Inspect fails gets no events and no cache update in that
// relist; its previous listing is kept as the diff base, so the next
// relist re-inspects it and reports the same changes again.
//
// # Cache and ordering with pod workers
//
// Cache.Get returns a pod's latest inspected state and the time it is
// known current at: the start of the last relist that covered it. A
// relist that finds a pod unchanged still vouches for its cached state,
// except when the pod's inspection failed. A pod worker that acted on the
// runtime at time t calls Cache.WaitNewer(ctx, uid, t) to decide from a
// relist that started after its action. Cached pods are shared: read only.
//
// # Modes
//
// Run starts in relisting mode: relist at once, then every RelistPeriod
// (1s) after the previous relist ended. Meanwhile it opens the runtime's
// event stream; while the stream is up (evented mode) every runtime event
// requests a relist now, and the periodic relist slows to
// EventedRelistPeriod (30s) as a safety net. Requests coalesce: one relist
// in flight, at most one pending. When the stream breaks PLEG relists at
// once, returns to relisting mode and retries the stream with back-off
// (1s doubling to 30s); when the runtime returns cri.ErrEventsUnsupported it
// stays in relisting mode for good. Mode changes are logged at Info.
//
// # Health and stats
//
// Healthy is false before the first successful relist and once the last
// successful one started more than HealthThreshold (3m) ago, with an error
// saying how long. Stats returns counters: relists, list and inspect
// errors, the last relist's duration, a relist duration histogram
// (RelistBuckets), events by type, dropped events, stream opens/breaks
// and the mode. Options.Metrics observes the same relists for Prometheus:
// each successful relist's duration and the time between the starts of two
// successive ones.
//
// # Concurrency
//
// Run is called once; it owns the relist loop and one goroutine for the
// event stream, and returns nil after ctx ends and both have finished
// (the stream goroutine joins the runtime's with the stream's wait func).
// Events, Cache and its methods, Healthy and Stats are safe to call from
// any goroutine, before, during and after Run. Time comes from the time
// package; tests run PLEG in a testing/synctest bubble, where it is
// virtual.
//
// # Runtime contract (*cri.Client implements it)
//
// List: every sandbox and container labelled runstate.LabelPodUID, grouped
// by pod, newest first, list fields only, fresh values on every call.
// Inspect: fill each container's Detail (Inspected true) and the sandbox
// IPs of one pod, in place; return an error only when the pod's state
// cannot be trusted (a container removed meanwhile is not an error).
// Events: cri.ErrEventsUnsupported (wrapped is fine) when the runtime
// cannot stream; otherwise a channel of events, closed when the stream
// ends or ctx ends, and a wait func that returns once the stream's
// goroutines have stopped.
package pleg
