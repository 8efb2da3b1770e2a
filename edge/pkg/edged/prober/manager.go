package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// Exec runs cmd in a container and returns its output and exit code; the
// command must be ended after timeout. (*cri.Client).ExecSync has this
// shape. An error that is a timeout (context.DeadlineExceeded or the gRPC
// code DeadlineExceeded) counts as a failed probe; other errors say
// nothing about the container and the result is dropped.
type Exec func(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (stdout, stderr []byte, exitCode int32, err error)

// Options configure a Manager.
type Options struct {
	// Exec runs exec probes. Required.
	Exec Exec
	// Logger. Required.
	Logger *slog.Logger
	// OnChange is called, from a prober goroutine and never under the
	// Manager's locks, when a readiness or startup result of the pod
	// changes, so that the caller recomputes the pod's status. Nil means
	// not told.
	OnChange func(uid types.UID)
	// OnLivenessFailure is called, like OnChange, once per container
	// instance whose liveness probe failed failureThreshold times in a row,
	// or whose startup probe did; message says which probe failed and why.
	// The caller kills the container; the pod's restartPolicy decides what
	// follows. Nil means not told.
	OnLivenessFailure func(uid types.UID, containerName, containerID, message string)
}

func (o *Options) validate() error {
	if o.Exec == nil {
		return errors.New("prober: Options.Exec is required")
	}
	if o.Logger == nil {
		return errors.New("prober: Options.Logger is required")
	}
	return nil
}

// Manager runs the probes of the pods Edged runs. See the package doc.
type Manager struct {
	exec       Exec
	log        *slog.Logger
	onChange   func(types.UID)
	onLiveness func(uid types.UID, containerName, containerID, message string)
	http       *http.Client
	transport  *http.Transport

	ctx    context.Context // parent of every worker's; Stop cancels it
	cancel context.CancelFunc
	wg     sync.WaitGroup // the workers' goroutines

	// mu guards pods and stopped.
	mu      sync.Mutex
	pods    map[types.UID]*podState
	stopped bool
}

// podState is one pod's workers and results.
type podState struct {
	podIP   string
	workers map[workerKey]*worker
	ready   map[string]bool // by container ID, of containers with a readiness worker
	started map[string]bool // by container ID, of containers with a startup worker
}

// workerKey names a worker: one per container instance and probe kind.
type workerKey struct {
	containerID string
	kind        Kind
}

// New returns a Manager with no workers.
func New(o Options) (*Manager, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	tr := &http.Transport{
		// Like the kubelet: probes check liveness, not certificates, and
		// every probe opens its own connection.
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as the kubelet does
		DisableKeepAlives: true,
		Proxy:             nil,
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		exec:       o.Exec,
		log:        o.Logger,
		onChange:   o.OnChange,
		onLiveness: o.OnLivenessFailure,
		transport:  tr,
		http: &http.Client{
			Transport: tr,
			// A redirect is not followed; a 3xx answer is a success.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		ctx:    ctx,
		cancel: cancel,
		pods:   make(map[types.UID]*podState),
	}, nil
}

// want is a worker Sync wants running.
type want struct {
	container *corev1.Container // in the caller's pod; copied when a worker starts
	probe     *corev1.Probe
	startedAt time.Time // zero when the runtime has not said
}

// wanted lists the workers the pod needs: one per probe of the newest
// running instance of each container that has probes.
func wanted(pod *corev1.Pod, rp *runstate.Pod) map[workerKey]want {
	ws := make(map[workerKey]want)
	for _, c := range probed(pod) {
		inst, ok := running(rp, c.Name)
		if !ok {
			continue
		}
		for _, k := range []Kind{Liveness, Readiness, Startup} {
			if p := probeOf(c, k); p != nil {
				ws[workerKey{inst.ID, k}] = want{container: c, probe: p, startedAt: inst.StartedAt}
			}
		}
	}
	return ws
}

// running returns the newest running instance of the named container.
func running(rp *runstate.Pod, name string) (runstate.Container, bool) {
	if rp == nil {
		return runstate.Container{}, false
	}
	for _, c := range rp.Containers {
		if c.Name == name && c.State == runstate.ContainerRunning {
			return c, true
		}
	}
	return runstate.Container{}, false
}

// Sync makes the probe workers match pod: one worker per (running
// container instance, probe kind) that the spec gives a probe; workers of
// container instances no longer running (per rp) stop and their results
// are dropped. podIP is where httpGet, tcpSocket and grpc probes go when
// the probe names no host (for a host-network pod, the host's IP). Sync
// does not wait for stopped workers to end.
func (m *Manager) Sync(pod *corev1.Pod, rp *runstate.Pod, podIP string) {
	ws := wanted(pod, rp)
	now := time.Now()

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	ps := m.pods[pod.UID]
	if ps == nil {
		if len(ws) == 0 {
			return
		}
		ps = &podState{
			workers: make(map[workerKey]*worker),
			ready:   make(map[string]bool),
			started: make(map[string]bool),
		}
		m.pods[pod.UID] = ps
	}
	ps.podIP = podIP
	for k, w := range ps.workers {
		if _, ok := ws[k]; !ok {
			ps.stopLocked(w)
		}
	}
	for k, wt := range ws {
		if _, ok := ps.workers[k]; !ok {
			m.startLocked(pod.UID, ps, k, wt, now)
		}
	}
	if len(ps.workers) == 0 {
		delete(m.pods, pod.UID)
	}
}

// startLocked starts the worker k of the pod.
func (m *Manager) startLocked(uid types.UID, ps *podState, k workerKey, wt want, now time.Time) {
	c := wt.container.DeepCopy()
	p := probeOf(c, k.kind)
	start := wt.startedAt
	if start.IsZero() {
		start = now
	}
	ctx, cancel := context.WithCancel(m.ctx)
	w := &worker{
		m:         m,
		uid:       uid,
		key:       k,
		container: c,
		probe:     p,
		params:    paramsOf(k.kind, p),
		start:     start,
		cancel:    cancel,
		log: m.log.With("pod", uid, "container", c.Name, "containerID", k.containerID,
			"probe", k.kind.String()),
	}
	ps.workers[k] = w
	switch k.kind {
	case Readiness:
		ps.ready[k.containerID] = false
	case Startup:
		ps.started[k.containerID] = false
	}
	m.wg.Go(func() { w.run(ctx) })
}

// stopLocked stops the worker w and drops its result.
func (ps *podState) stopLocked(w *worker) {
	w.cancel()
	delete(ps.workers, w.key)
	switch w.key.kind {
	case Readiness:
		delete(ps.ready, w.key.containerID)
	case Startup:
		delete(ps.started, w.key.containerID)
	}
}

// Remove stops every worker of the pod and drops its results. It does not
// wait for the workers to end.
func (m *Manager) Remove(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.pods[uid]
	if ps == nil {
		return
	}
	for _, w := range ps.workers {
		ps.stopLocked(w)
	}
	delete(m.pods, uid)
}

// Results returns copies of the pod's readiness and startup results, by
// container ID. A container instance without a readiness (startup) probe
// is absent from ready (started); one with a probe is false until the
// probe succeeded. Both are nil for a pod the Manager does not probe.
func (m *Manager) Results(uid types.UID) (ready, started map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.pods[uid]
	if ps == nil {
		return nil, nil
	}
	return maps.Clone(ps.ready), maps.Clone(ps.started)
}

// Stop stops every worker and waits for them to end. Sync does nothing
// afterwards. Stop must not be called from a callback.
func (m *Manager) Stop() {
	m.mu.Lock()
	m.stopped = true
	m.pods = make(map[types.UID]*podState)
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	m.transport.CloseIdleConnections()
}

// gate tells whether the worker's probe may run now, and the pod IP its
// network probes go to: liveness and readiness wait until the container's
// startup probe, if it has one, succeeded.
func (m *Manager) gate(w *worker) (podIP string, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.pods[w.uid]
	if ps == nil || ps.workers[w.key] != w {
		return "", false
	}
	if w.key.kind != Startup {
		if started, has := ps.started[w.key.containerID]; has && !started {
			return ps.podIP, false
		}
	}
	return ps.podIP, true
}

// setResult records a readiness or startup result of w and tells whether
// it changed.
func (m *Manager) setResult(w *worker, v bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.pods[w.uid]
	if ps == nil || ps.workers[w.key] != w {
		return false
	}
	res := ps.ready
	if w.key.kind == Startup {
		res = ps.started
	}
	changed := res[w.key.containerID] != v
	res[w.key.containerID] = v
	return changed
}

// current tells whether w is still one of the Manager's workers.
func (m *Manager) current(w *worker) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.pods[w.uid]
	return ps != nil && ps.workers[w.key] == w
}
