package podsync

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// ContainerIDPrefix is the runtime scheme in reported container IDs.
const ContainerIDPrefix = "containerd://"

// ReasonContainerStatusUnknown marks a container that was running and is
// no longer found in the runtime.
const ReasonContainerStatusUnknown = "ContainerStatusUnknown"

// StatusInput is what pod status needs besides the pod and the runtime.
type StatusInput struct {
	// Why says, by container name, why a container that is to (re)start
	// is not running: the worker's last Actions.Reasons merged with its
	// own start errors (ErrImagePull, ImagePullBackOff,
	// CreateContainerError...). Keep reasons across syncs until the
	// container runs, as the kubelet's reason cache does. Nil is allowed.
	Why map[string]Waiting
	// Ready holds readiness probe results by container ID. A running
	// container without a readiness probe is ready; one with a probe is
	// not until its result here is true. Nil is allowed.
	Ready map[string]bool
	// Started holds startup probe results by container ID, the same way:
	// a running container without a startup probe has started. A
	// container that has not started is not ready. Nil is allowed.
	Started map[string]bool
	// HostIP is the node's IP; empty keeps the pod's current one.
	HostIP string
}

// Status computes pod's status from what the runtime holds for it (rp,
// nil if nothing), the way the kubelet's generateAPIPodStatus does.
// pod.Status is the status last reported: transition times, start time,
// IPs, and the states of containers the runtime no longer holds are kept
// from it. now stamps what changes. pod must not be nil.
func Status(pod *corev1.Pod, rp *runstate.Pod, in StatusInput, now time.Time) corev1.PodStatus {
	old := &pod.Status
	s := corev1.PodStatus{
		QOSClass:  old.QOSClass,
		StartTime: old.StartTime,
		HostIP:    old.HostIP,
		HostIPs:   old.HostIPs,
		PodIP:     old.PodIP,
		PodIPs:    old.PodIPs,
	}
	if s.StartTime == nil {
		s.StartTime = &metav1.Time{Time: now}
	}
	if in.HostIP != "" {
		s.HostIP, s.HostIPs = in.HostIP, []corev1.HostIP{{IP: in.HostIP}}
	}
	if ip := podIP(pod, rp, s.HostIP); ip != "" {
		s.PodIP, s.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	}

	cs := statuses{pod: pod, rp: rp, in: in, defaultReason: ReasonContainerCreating}
	if len(pod.Spec.InitContainers) > 0 {
		cs.defaultReason = ReasonPodInitializing
	}
	s.InitContainerStatuses = cs.list(pod.Spec.InitContainers, old.InitContainerStatuses, true)
	s.ContainerStatuses = cs.list(pod.Spec.Containers, old.ContainerStatuses, false)

	s.Phase = phase(pod, s.InitContainerStatuses, s.ContainerStatuses, podTerminal(pod, rp))
	if old.Phase == corev1.PodSucceeded || old.Phase == corev1.PodFailed {
		s.Phase = old.Phase // a terminal phase is final
	}
	s.Conditions = conditions(pod, &s, now)
	return s
}

// podIP is the pod's IP: the newest sandbox's, or the host's for a
// host-network pod.
func podIP(pod *corev1.Pod, rp *runstate.Pod, hostIP string) string {
	if pod.Spec.HostNetwork {
		return hostIP
	}
	if sb, ok := rp.Sandbox(); ok {
		return sb.IP
	}
	return ""
}

// podTerminal reports whether the pod is being deleted and nothing of it
// runs any more: its phase is then final whatever the restart policy.
func podTerminal(pod *corev1.Pod, rp *runstate.Pod) bool {
	if pod.DeletionTimestamp == nil {
		return false
	}
	if rp == nil {
		return true
	}
	for _, c := range rp.Containers {
		if c.State == runstate.ContainerRunning {
			return false
		}
	}
	return true
}

// statuses builds container statuses.
type statuses struct {
	pod           *corev1.Pod
	rp            *runstate.Pod
	in            StatusInput
	defaultReason string
}

func (b statuses) list(spec []corev1.Container, old []corev1.ContainerStatus, isInit bool) []corev1.ContainerStatus {
	if len(spec) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, 0, len(spec))
	for i := range spec {
		out = append(out, b.one(&spec[i], findStatus(old, spec[i].Name), isInit))
	}
	return out
}

func findStatus(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// instances returns the newest and the previous instance of a container
// and how many instances the runtime holds.
func instances(rp *runstate.Pod, name string) (latest, prev *runstate.Container, n int) {
	if rp == nil {
		return nil, nil, 0
	}
	for i := range rp.Containers {
		c := &rp.Containers[i]
		if c.Name != name {
			continue
		}
		switch n++; n {
		case 1:
			latest = c
		case 2:
			prev = c
		}
	}
	return latest, prev, n
}

func (b statuses) one(c *corev1.Container, old *corev1.ContainerStatus, isInit bool) corev1.ContainerStatus {
	latest, prev, n := instances(b.rp, c.Name)
	var st corev1.ContainerStatus
	switch {
	case latest == nil:
		st = b.missing(c, old)
	case latest.State == runstate.ContainerExited && !latest.Inspected &&
		old != nil && old.ContainerID == ContainerIDPrefix+latest.ID:
		// Exit code not known yet: report what was last reported.
		st = *old.DeepCopy()
	default:
		st = corev1.ContainerStatus{
			Name:         c.Name,
			Image:        c.Image,
			ImageID:      latest.ImageRef,
			ContainerID:  ContainerIDPrefix + latest.ID,
			State:        b.state(latest),
			RestartCount: max(int32(latest.Attempt), int32(n-1)),
		}
		if latest.Image != "" {
			st.Image = latest.Image
		}
		if prev != nil && prev.State == runstate.ContainerExited {
			st.LastTerminationState = b.state(prev)
		}
	}
	b.applyWhy(&st, c.Name, latest, isInit)
	b.readiness(&st, c, latest, isInit)
	return st
}

// missing is the status of a container the runtime does not hold: never
// created, or removed. A terminated state reported before is kept; one
// that was running is reported as having terminated for an unknown
// reason (the kubelet's ContainerStatusUnknown, exit code 137).
func (b statuses) missing(c *corev1.Container, old *corev1.ContainerStatus) corev1.ContainerStatus {
	st := corev1.ContainerStatus{
		Name:  c.Name,
		Image: c.Image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: b.defaultReason}},
	}
	if old == nil {
		return st
	}
	st.RestartCount = old.RestartCount
	st.LastTerminationState = *old.LastTerminationState.DeepCopy()
	switch {
	case old.State.Terminated != nil:
		st = *old.DeepCopy()
	case old.State.Running != nil && st.LastTerminationState.Terminated == nil:
		st.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
			Reason:   ReasonContainerStatusUnknown,
			Message:  "The container could not be located when the pod was terminated",
			ExitCode: 137,
		}
		if b.pod.DeletionTimestamp == nil {
			st.RestartCount++
		}
	}
	return st
}

// state is the API state of one container instance.
func (b statuses) state(c *runstate.Container) corev1.ContainerState {
	switch c.State {
	case runstate.ContainerRunning:
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mtime(c.StartedAt)}}
	case runstate.ContainerExited:
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode:    c.ExitCode,
			Reason:      c.Reason,
			Message:     c.Message,
			StartedAt:   mtime(c.StartedAt),
			FinishedAt:  mtime(c.FinishedAt),
			ContainerID: ContainerIDPrefix + c.ID,
		}}
	}
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: b.defaultReason}}
}

func mtime(t time.Time) metav1.Time {
	if t.IsZero() {
		return metav1.Time{}
	}
	return metav1.NewTime(t)
}

// applyWhy shows why a container that is to (re)start is not running: its
// state becomes Waiting with the reason, and a terminated state moves to
// LastTerminationState.
func (b statuses) applyWhy(st *corev1.ContainerStatus, name string, latest *runstate.Container, isInit bool) {
	w, ok := b.in.Why[name]
	if !ok || st.State.Running != nil {
		return
	}
	if latest != nil && !b.toRestart(*latest, isInit) {
		return
	}
	if st.State.Terminated != nil {
		st.LastTerminationState = st.State
	}
	st.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}}
}

// toRestart reports whether a container whose newest instance is c is to
// run again; an init container that succeeded is not.
func (b statuses) toRestart(c runstate.Container, isInit bool) bool {
	if isInit && succeeded(c) {
		return false
	}
	return ShouldRestart(b.pod, c, true)
}

// readiness sets Ready and Started.
func (b statuses) readiness(st *corev1.ContainerStatus, c *corev1.Container, latest *runstate.Container, isInit bool) {
	running := st.State.Running != nil && latest != nil && latest.State == runstate.ContainerRunning
	if isInit {
		st.Ready = st.State.Terminated != nil && st.State.Terminated.ExitCode == 0
		st.Started = &running
		return
	}
	started := running && (c.StartupProbe == nil || b.in.Started[latest.ID])
	st.Started = &started
	st.Ready = started && (c.ReadinessProbe == nil || b.in.Ready[latest.ID])
}
