package prober

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Kind is which probe of a container a worker runs.
type Kind int

// Probe kinds.
const (
	Liveness Kind = iota
	Readiness
	Startup
)

func (k Kind) String() string {
	switch k {
	case Liveness:
		return "Liveness"
	case Readiness:
		return "Readiness"
	case Startup:
		return "Startup"
	}
	return "Unknown"
}

// Defaults of a probe's fields, the API server's: a pod that did not pass
// through it (a static pod) may leave them zero.
const (
	DefaultPeriod           = 10 * time.Second
	DefaultTimeout          = time.Second
	DefaultSuccessThreshold = 1
	DefaultFailureThreshold = 3
)

// params are one probe's timing and thresholds with the defaults applied.
type params struct {
	initialDelay time.Duration
	period       time.Duration
	timeout      time.Duration
	success      int
	failure      int
}

// paramsOf applies the defaults to p. Liveness and startup probes succeed
// after one success whatever the spec says (the API rejects anything else).
func paramsOf(k Kind, p *corev1.Probe) params {
	secs := func(v int32, def time.Duration) time.Duration {
		if v < 1 {
			return def
		}
		return time.Duration(v) * time.Second
	}
	count := func(v int32, def int) int {
		if v < 1 {
			return def
		}
		return int(v)
	}
	pa := params{
		initialDelay: time.Duration(max(p.InitialDelaySeconds, 0)) * time.Second,
		period:       secs(p.PeriodSeconds, DefaultPeriod),
		timeout:      secs(p.TimeoutSeconds, DefaultTimeout),
		success:      count(p.SuccessThreshold, DefaultSuccessThreshold),
		failure:      count(p.FailureThreshold, DefaultFailureThreshold),
	}
	if k != Readiness {
		pa.success = 1
	}
	return pa
}

// probeOf returns the container's probe of kind k; nil when it has none or
// only a handler this package does not run.
func probeOf(c *corev1.Container, k Kind) *corev1.Probe {
	var p *corev1.Probe
	switch k {
	case Liveness:
		p = c.LivenessProbe
	case Readiness:
		p = c.ReadinessProbe
	case Startup:
		p = c.StartupProbe
	}
	if p == nil {
		return nil
	}
	h := p.ProbeHandler
	if h.Exec == nil && h.HTTPGet == nil && h.TCPSocket == nil && h.GRPC == nil {
		return nil
	}
	return p
}

// probed lists the containers of the pod that may have probes: the regular
// containers and the sidecars (init containers with restartPolicy Always).
func probed(pod *corev1.Pod) []*corev1.Container {
	var cs []*corev1.Container
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			cs = append(cs, c)
		}
	}
	for i := range pod.Spec.Containers {
		cs = append(cs, &pod.Spec.Containers[i])
	}
	return cs
}
