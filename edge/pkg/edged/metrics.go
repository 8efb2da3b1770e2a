package edged

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/pleg"
)

// Metrics are Edged's Prometheus collectors.
type Metrics struct {
	// PodStartDuration observes, once per pod, the time from Edged first
	// seeing the pod to the first status with every container running.
	PodStartDuration prometheus.Histogram
	// PLEG are the relist collectors, handed to PLEG.
	PLEG *pleg.Metrics
}

// NewMetrics creates Edged's collectors, PLEG's among them, and registers
// them on reg; a collector registered twice panics (a programmer error at
// start-up).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		PodStartDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tether_edged_pod_start_duration_seconds",
			Help: "Time from Edged first seeing a pod to its first status in phase Running with every container running, observed once per pod (as the kubelet's pod_start_duration, image pulls included).",
			// 0.5 s to 5 min.
			Buckets: []float64{.5, 1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 120, 180, 240, 300},
		}),
		PLEG: pleg.NewMetrics(reg),
	}
	reg.MustRegister(m.PodStartDuration)
	return m
}

// podStarts times each pod from when Edged first saw it to when it first
// ran, to observe that once.
type podStarts struct {
	observe prometheus.Observer

	// mu guards pods.
	mu sync.Mutex
	// pods are the pods seen, by UID, until finished (forget).
	pods map[types.UID]podStart
}

type podStart struct {
	seen time.Time
	// done: observed, or found running already (adopted after a restart).
	done bool
}

func newPodStarts(observe prometheus.Observer) *podStarts {
	return &podStarts{observe: observe, pods: map[types.UID]podStart{}}
}

// seen records when Edged first saw the pod with uid.
func (s *podStarts) seen(uid types.UID, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pods[uid]; !ok {
		s.pods[uid] = podStart{seen: now}
	}
}

// status takes the pod's newly computed status cur and the one before it
// (the last computed, else the cloud's copy). The first time cur has every
// container running it observes the time since the pod was seen, unless
// prev had them running already: a pod adopted after a restart did not
// start now.
func (s *podStarts) status(uid types.UID, prev, cur *corev1.PodStatus, now time.Time) {
	if !allRunning(cur) {
		return
	}
	s.mu.Lock()
	p, ok := s.pods[uid]
	if !ok || p.done {
		s.mu.Unlock()
		return
	}
	s.pods[uid] = podStart{seen: p.seen, done: true}
	s.mu.Unlock()
	if !allRunning(prev) {
		s.observe.Observe(now.Sub(p.seen).Seconds())
	}
}

// forget drops a finished pod.
func (s *podStarts) forget(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pods, uid)
}

// allRunning reports whether st is phase Running with every container
// (of those it reports) running.
func allRunning(st *corev1.PodStatus) bool {
	if st.Phase != corev1.PodRunning || len(st.ContainerStatuses) == 0 {
		return false
	}
	for _, c := range st.ContainerStatuses {
		if c.State.Running == nil {
			return false
		}
	}
	return true
}
