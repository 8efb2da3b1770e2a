package edged

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/admit"
	"github.com/tether-edge/tether/edge/pkg/edged/podsync"
)

// retryAfterError is when a sync that failed (the runtime did not answer,
// a start failed) runs again.
const retryAfterError = 2 * time.Second

// workers holds one goroutine per pod: a pod's syncs never overlap, and
// different pods sync in parallel, as the kubelet's pod workers do.
type workers struct {
	e *Edged

	mu sync.Mutex
	// ctx is the context workers run under, set by start; nil before.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	byUID  map[types.UID]*podWorker

	// backoffMu guards backoff, which all workers share.
	backoffMu sync.Mutex
	backoff   podsync.Backoff

	admission admission
}

func newWorkers(e *Edged) *workers {
	ctx, cancel := context.WithCancel(context.Background())
	return &workers{
		e: e, ctx: ctx, cancel: cancel,
		byUID:     map[types.UID]*podWorker{},
		admission: admission{admitted: map[types.UID]bool{}, rejected: map[types.UID]admit.Result{}},
	}
}

// ensure starts the pod's worker if it has none, and kicks it.
func (ws *workers) ensure(uid types.UID) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.ctx.Err() != nil {
		return
	}
	w := ws.byUID[uid]
	if w == nil {
		w = &podWorker{uid: uid, e: ws.e, kicks: make(chan struct{}, 1)}
		ws.byUID[uid] = w
		ws.wg.Add(1)
		go func() {
			defer ws.wg.Done()
			w.run(ws.ctx)
		}()
	}
	w.kick()
}

// kick asks the pod's worker, if it has one, to sync.
func (ws *workers) kick(uid types.UID) {
	ws.mu.Lock()
	w := ws.byUID[uid]
	ws.mu.Unlock()
	if w != nil {
		w.kick()
	}
}

// kickAll asks every worker to sync, starting one for each desired pod.
func (ws *workers) kickAll() {
	for _, uid := range ws.e.want.uids() {
		ws.ensure(uid)
	}
}

// done removes a worker that finished its pod. It reports false, and the
// worker carries on, when a kick came in meanwhile.
func (ws *workers) done(w *podWorker) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	select {
	case <-w.kicks:
		w.kick()
		return false
	default:
	}
	delete(ws.byUID, w.uid)
	return true
}

// live reports whether a pod still has a worker or is desired: the garbage
// collector leaves such pods' containers to their worker.
func (ws *workers) live(uid types.UID) bool {
	if ws.e.want.has(uid) {
		return true
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.byUID[uid] != nil
}

// livenessFailed is the prober's report of a failed liveness (or startup)
// probe: the worker kills that container at its next sync.
func (ws *workers) livenessFailed(uid types.UID, name, containerID, msg string) {
	ws.mu.Lock()
	w := ws.byUID[uid]
	ws.mu.Unlock()
	if w == nil {
		return
	}
	w.mu.Lock()
	if w.unhealthy == nil {
		w.unhealthy = map[string]string{}
	}
	w.unhealthy[containerID] = msg
	w.mu.Unlock()
	ws.e.eventByUID(uid, "Warning", "Unhealthy", msg)
	w.kick()
}

// stopAll stops every worker and waits for them. Containers keep running.
func (ws *workers) stopAll() {
	ws.mu.Lock()
	ws.cancel()
	ws.mu.Unlock()
	ws.wg.Wait()
}

// podWorker syncs one pod.
type podWorker struct {
	uid   types.UID
	e     *Edged
	kicks chan struct{}

	// mu guards unhealthy, written by the prober's callbacks.
	mu sync.Mutex
	// unhealthy are containers whose liveness probe failed, by container
	// ID, with the probe's message: killed at the next sync.
	unhealthy map[string]string

	// The fields below belong to the worker goroutine.
	// why are the reasons containers that should run do not, by name.
	why map[string]podsync.Waiting
	// lastPod is the pod as last seen in the desired set: its grace
	// period and name serve once it is gone.
	lastPod *corev1.Pod
	// finalDeleteSent is set once the cloud removed the pod.
	finalDeleteSent bool
}

// kick asks the worker to sync; kicks coalesce.
func (w *podWorker) kick() {
	select {
	case w.kicks <- struct{}{}:
	default:
	}
}

// run syncs on every kick and when a back-off expires, until the pod is
// gone from both the desired set and the runtime, or ctx ends.
func (w *podWorker) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kicks:
		case <-timer.C:
		}
		next, finished := w.sync(ctx)
		if finished && w.e.workers.done(w) {
			return
		}
		timer.Stop()
		if !next.IsZero() {
			timer.Reset(max(time.Until(next), time.Millisecond))
		}
	}
}
