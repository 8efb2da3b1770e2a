package podsync

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// Waiting reasons Edged reports for a container that is not running.
const (
	ReasonCrashLoopBackOff     = "CrashLoopBackOff"
	ReasonErrImagePull         = "ErrImagePull"
	ReasonImagePullBackOff     = "ImagePullBackOff"
	ReasonCreateContainerError = "CreateContainerError"
	ReasonContainerCreating    = "ContainerCreating"
	ReasonPodInitializing      = "PodInitializing"
)

// DefaultGracePeriod is the grace period of a kill when the pod does not
// give one; OrphanGracePeriod stops a pod whose spec is unknown (left
// behind by an earlier run), as promptly as kubelets stop such pods.
const (
	DefaultGracePeriod = 30 * time.Second
	OrphanGracePeriod  = 2 * time.Second
)

// Waiting is why a container is not running: a reason (CrashLoopBackOff,
// ErrImagePull, ...) and a human message, as shown in its status.
type Waiting struct {
	Reason  string
	Message string
}

// Kill is a container to stop.
type Kill struct {
	ID     string
	Name   string
	Reason string
}

// Actions is what a pod worker does next for one pod, in this order:
// KillPod, KillContainers, CreateSandbox, StartInit, StartContainers.
type Actions struct {
	// KillPod: stop every container and sandbox the pod has, with
	// GracePeriod. When CreateSandbox is also set it clears what is left
	// of the pod before the new sandbox.
	KillPod    bool
	KillReason string
	// GracePeriod for every kill of this pod's containers.
	GracePeriod time.Duration

	// CreateSandbox with Attempt (the previous sandbox's attempt + 1, 0
	// for the first); the containers below then start in the new one.
	CreateSandbox bool
	Attempt       uint32
	// SandboxID is the ready sandbox to start containers in; empty when
	// CreateSandbox is set.
	SandboxID string

	// StartInit is the init container to run next, or "". When set,
	// StartContainers is empty: app containers wait for init.
	StartInit string
	// StartContainers are the app containers to start, in spec order.
	StartContainers []string
	// KillContainers are containers to stop before the starts.
	KillContainers []Kill

	// WaitUntil, when not zero, is the earliest back-off expiry: compute
	// again then.
	WaitUntil time.Time
	// Reasons says, by container name, why a container that should run is
	// not started now (CrashLoopBackOff), for the pod's status.
	Reasons map[string]Waiting
}

// Compute decides what to do next for pod given what the runtime holds
// for it (rp, nil if nothing), the way the kubelet's computePodActions
// does. It counts the exits it sees in b (idempotently, see Backoff) and
// reads nothing else: now is the only clock.
//
// pod nil means the pod is gone: kill whatever is left. Exited containers
// must have been inspected (runstate.Detail) for their exit code to be
// known; an exited container that was not is neither restarted nor
// counted until it is.
func Compute(pod *corev1.Pod, rp *runstate.Pod, b *Backoff, now time.Time) Actions {
	a := Actions{GracePeriod: GracePeriod(pod)}
	switch {
	case pod == nil:
		a.KillPod, a.KillReason = true, "pod removed from the node"
		return a
	case pod.DeletionTimestamp != nil:
		a.KillPod, a.KillReason = true, "pod is being deleted"
		return a
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		a.KillPod, a.KillReason = true, fmt.Sprintf("pod is terminal (%s)", pod.Status.Phase)
		return a
	}
	w := worker{pod: pod, rp: rp, b: b, now: now, a: &a}
	sb, ok := readySandbox(rp)
	if !ok {
		w.newSandbox()
		return a
	}
	a.SandboxID = sb.ID
	w.killStrays(sb.ID)
	if w.init(sb.ID) {
		w.apps(sb.ID)
	}
	return a
}

// GracePeriod is how long a kill of pod's containers may take: the
// deletion's grace period if the pod is being deleted, else the spec's
// terminationGracePeriodSeconds, else 30 s. Zero means what the API says
// of terminationGracePeriodSeconds: stop at once with the kill signal.
// (The kubelet raises it to 1 or 2 s; a user who asks for 0 on a small
// edge host wants the CPU and memory back now.)
func GracePeriod(pod *corev1.Pod) time.Duration {
	d := DefaultGracePeriod
	switch {
	case pod == nil:
	case pod.DeletionGracePeriodSeconds != nil:
		d = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		d = time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return max(d, 0)
}

// readySandbox returns the sandbox to keep using: the newest one, if it is
// ready and no other one is (two ready sandboxes: start over, as the
// kubelet does).
func readySandbox(rp *runstate.Pod) (runstate.Sandbox, bool) {
	sb, ok := rp.Sandbox()
	if !ok || sb.State != runstate.SandboxReady {
		return runstate.Sandbox{}, false
	}
	for _, s := range rp.Sandboxes[1:] {
		if s.State == runstate.SandboxReady {
			return runstate.Sandbox{}, false
		}
	}
	return sb, true
}

// worker holds one Compute call's inputs and the actions it builds.
type worker struct {
	pod *corev1.Pod
	rp  *runstate.Pod
	b   *Backoff
	now time.Time
	a   *Actions
}

// newSandbox: there is no usable sandbox. Clear what is left and start
// over in a new one, init containers first, unless the pod is done.
func (w *worker) newSandbox() {
	a, rp := w.a, w.rp
	if rp != nil && (len(rp.Sandboxes) > 0 || len(rp.Containers) > 0) {
		a.KillPod, a.KillReason = true, "no ready sandbox"
	}
	if w.pod.Spec.RestartPolicy == corev1.RestartPolicyNever && rp != nil && len(rp.Containers) > 0 {
		// The pod ran: a Never pod is not run again in a new sandbox.
		a.KillReason = "sandbox gone and restartPolicy is Never"
		return
	}
	var start []string
	for _, c := range w.pod.Spec.Containers {
		l, ok := rp.Latest(c.Name)
		if w.pod.Spec.RestartPolicy == corev1.RestartPolicyOnFailure && ok && succeeded(l) {
			continue
		}
		start = append(start, c.Name)
	}
	if len(start) == 0 {
		a.KillReason = "all containers succeeded"
		return
	}
	a.CreateSandbox = true
	if sb, ok := rp.Sandbox(); ok {
		a.Attempt = sb.Attempt + 1
	}
	if len(w.pod.Spec.InitContainers) > 0 {
		// A new sandbox runs the init containers again, from the first.
		a.StartInit = w.pod.Spec.InitContainers[0].Name
		return
	}
	for _, name := range start {
		l, ok := rp.Latest(name)
		if ok && l.State == runstate.ContainerExited && !w.backoffOver(l) {
			continue
		}
		a.StartContainers = append(a.StartContainers, name)
	}
}

// killStrays kills the running containers that are in no spec or not in
// the current sandbox.
func (w *worker) killStrays(sandboxID string) {
	inSpec := make(map[string]bool, len(w.pod.Spec.InitContainers)+len(w.pod.Spec.Containers))
	for _, c := range w.pod.Spec.InitContainers {
		inSpec[c.Name] = true
	}
	for _, c := range w.pod.Spec.Containers {
		inSpec[c.Name] = true
	}
	for _, c := range w.rp.Containers {
		if c.State != runstate.ContainerRunning && c.State != runstate.ContainerCreated {
			continue
		}
		switch {
		case !inSpec[c.Name]:
			w.kill(c, "container not in the pod's spec")
		case c.SandboxID != sandboxID && c.State == runstate.ContainerRunning:
			w.kill(c, "container not in the pod's current sandbox")
		}
	}
}

func (w *worker) kill(c runstate.Container, reason string) {
	w.a.KillContainers = append(w.a.KillContainers, Kill{ID: c.ID, Name: c.Name, Reason: reason})
}

// backoffOver counts c's exit and reports whether its back-off is over, so
// that c may start now; if not, it records CrashLoopBackOff and the expiry.
func (w *worker) backoffOver(c runstate.Container) bool {
	if !c.Inspected {
		return false
	}
	k := Key{UID: w.pod.UID, Container: c.Name}
	until := w.b.Exit(k, c.StartedAt, c.FinishedAt)
	if !w.now.Before(until) {
		return true
	}
	if w.a.WaitUntil.IsZero() || until.Before(w.a.WaitUntil) {
		w.a.WaitUntil = until
	}
	if w.a.Reasons == nil {
		w.a.Reasons = make(map[string]Waiting)
	}
	w.a.Reasons[c.Name] = Waiting{
		Reason: ReasonCrashLoopBackOff,
		Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
			w.b.Delay(k), c.Name, w.pod.Name, w.pod.Namespace, w.pod.UID),
	}
	return false
}

// succeeded reports whether c exited with code 0 (and was inspected).
func succeeded(c runstate.Container) bool {
	return c.State == runstate.ContainerExited && c.Inspected && c.ExitCode == 0 && c.Reason != "OOMKilled"
}

// ShouldRestart reports whether a container whose newest instance is c
// (ok false: it never ran) is to be started (again), by the pod's
// restartPolicy. Running containers are not; created or unknown ones
// always are; exited ones per the policy (Never: no; OnFailure: unless it
// exited 0; Always: yes). The back-off is not considered here.
func ShouldRestart(pod *corev1.Pod, c runstate.Container, ok bool) bool {
	if pod == nil || pod.DeletionTimestamp != nil {
		return false
	}
	if !ok {
		return true
	}
	switch c.State {
	case runstate.ContainerRunning:
		return false
	case runstate.ContainerCreated, runstate.ContainerUnknown:
		return true
	}
	switch pod.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return !succeeded(c)
	}
	return true
}
