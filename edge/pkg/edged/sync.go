package edged

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/admit"
	"github.com/tether-edge/tether/edge/pkg/edged/containerspec"
	"github.com/tether-edge/tether/edge/pkg/edged/podruntime"
	"github.com/tether-edge/tether/edge/pkg/edged/podsync"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
	"github.com/tether-edge/tether/edge/pkg/edged/volume"
)

// Waiting reasons the worker adds to podsync's.
const (
	reasonRunContainerError = "RunContainerError"
	reasonFailedMount       = "FailedMount"
)

// sync is one pass of the pod worker: read what the runtime holds for the
// pod, compute the actions (podsync.Compute), carry them out, and report
// the pod's status. It returns when to sync again (zero: on the next kick)
// and whether the pod is finished: gone from the desired set and from the
// runtime, its volumes and logs removed.
func (w *podWorker) sync(ctx context.Context) (next time.Time, finished bool) {
	e := w.e
	rt := e.runtime()
	if rt == nil {
		return time.Time{}, false // kicked again once the runtime answers
	}
	now := e.opts.Now()
	retry := now.Add(retryAfterError)
	rp, err := rt.cri.Pod(ctx, w.uid)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("pod state not read from the runtime", "uid", w.uid, "err", err)
		}
		return retry, false
	}
	pod := e.want.pod(w.uid)
	if pod == nil {
		if !e.isLoaded() {
			return time.Time{}, false // may be a stored pod not handed over yet
		}
		return w.finish(ctx, rt, rp)
	}
	w.lastPod = pod
	admitted, rejected := e.verdict(w.uid)
	if !admitted {
		if rejected.Reason == "" {
			return time.Time{}, false // decided once the store is loaded
		}
		w.reject(ctx, rt, pod, rp, rejected)
		return time.Time{}, false
	}
	pod = e.status.withLast(pod)
	killed := w.killUnhealthy(ctx, rt, pod, rp)
	e.workers.backoffMu.Lock()
	a := podsync.Compute(pod, rp, &e.workers.backoff, now)
	e.workers.backoffMu.Unlock()
	if a.KillPod || len(a.KillContainers) > 0 {
		// Report what was seen (an exit, say) before the kills, which take
		// the grace period: the kubelet reports first too.
		w.report(rt, pod, rp, a)
		pod = e.status.withLast(pod)
	}
	changed, failed := w.apply(ctx, rt, pod, rp, a)
	if changed || killed {
		if fresh, err := rt.cri.Pod(ctx, w.uid); err == nil {
			rp = fresh
		}
	}
	st := w.report(rt, pod, rp, a)
	if pod.DeletionTimestamp != nil && !anyRunning(rp) {
		if !w.finalDelete(ctx, pod, st) {
			failed = true
		}
	}
	switch {
	case failed:
		next = retry
	case !a.WaitUntil.IsZero():
		next = a.WaitUntil
	}
	return next, false
}

// apply carries out a's actions in Compute's order. It reports whether it
// changed anything in the runtime, and whether something failed (the
// worker then syncs again soon).
func (w *podWorker) apply(ctx context.Context, rt *runtimeParts, pod *corev1.Pod, rp *runstate.Pod, a podsync.Actions) (changed, failed bool) {
	e := w.e
	if a.KillPod {
		if anyRunning(rp) || hasReadySandbox(rp) {
			e.log.Info("stopping pod", "pod", podName(pod), "reason", a.KillReason, "grace", a.GracePeriod)
			e.event(pod, corev1.EventTypeNormal, "Killing", "Stopping pod: "+a.KillReason)
			rt.probes.Remove(w.uid)
			if err := rt.pods.KillPod(ctx, rp, a.GracePeriod); err != nil {
				e.log.Warn("pod not stopped", "pod", podName(pod), "err", err)
				return true, true
			}
			changed = true
		}
		if !a.CreateSandbox {
			return changed, false
		}
	}
	for _, k := range a.KillContainers {
		e.event(pod, corev1.EventTypeNormal, "Killing", fmt.Sprintf("Stopping container %s: %s", k.Name, k.Reason))
		if err := rt.pods.KillContainer(ctx, k.ID, a.GracePeriod); err != nil {
			e.log.Warn("container not stopped", "pod", podName(pod), "container", k.Name, "err", err)
			failed = true
		}
		changed = true
	}
	hostIP := e.opts.HostIP()
	var sb runstate.Sandbox
	if a.CreateSandbox {
		id, ip, err := rt.pods.CreateSandbox(ctx, pod, a.Attempt)
		if err != nil {
			e.log.Warn("pod sandbox not created", "pod", podName(pod), "err", err)
			e.event(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", err.Error())
			return true, true
		}
		sb, changed = runstate.Sandbox{ID: id, Attempt: a.Attempt, State: runstate.SandboxReady, IP: ip}, true
	} else if cur, ok := rp.Sandbox(); ok {
		sb = cur
	}
	if sb.ID == "" {
		return changed, failed
	}
	podIP := sb.IP
	if pod.Spec.HostNetwork {
		podIP = hostIP
	}
	// Every sync refreshes the volumes: configmaps and secrets that changed
	// reach the running containers' files here.
	vols, err := rt.volumes.SetUp(pod, containerspec.Downward{NodeName: e.opts.NodeName, PodIP: podIP, HostIP: hostIP})
	if err != nil {
		w.mountFailed(pod, err)
		return changed, true
	}
	starts := a.StartContainers
	if a.StartInit != "" {
		starts = []string{a.StartInit}
	}
	for _, name := range starts {
		if ctx.Err() != nil {
			return changed, true
		}
		if !w.start(ctx, rt, pod, rp, sb, name, vols, hostIP) {
			failed = true
		}
		changed = true
	}
	return changed, failed
}

// start starts one container; a failure is kept as its waiting reason.
func (w *podWorker) start(ctx context.Context, rt *runtimeParts, pod *corev1.Pod, rp *runstate.Pod, sb runstate.Sandbox, name string, vols volume.Volumes, hostIP string) bool {
	e := w.e
	c := containerSpec(pod, name)
	if c == nil {
		return true // Compute names only containers of the spec
	}
	mounts, err := vols.Mounts(pod, c)
	if err != nil {
		w.setWhy(name, podsync.Waiting{Reason: "CreateContainerConfigError", Message: err.Error()})
		e.event(pod, corev1.EventTypeWarning, "Failed", err.Error())
		return false
	}
	var attempt uint32
	if last, ok := rp.Latest(name); ok {
		attempt = last.Attempt + 1
	}
	_, err = rt.pods.StartContainer(ctx, podruntime.StartRequest{
		Pod: pod, Name: name, Sandbox: sb, Attempt: attempt, HostIP: hostIP, Mounts: mounts,
	})
	if err != nil {
		why := podsync.Waiting{Reason: reasonRunContainerError, Message: err.Error()}
		var se *podruntime.StartError
		if errors.As(err, &se) {
			why = podsync.Waiting{Reason: se.Reason, Message: se.Message}
		}
		w.setWhy(name, why)
		e.log.Warn("container not started", "pod", podName(pod), "container", name, "reason", why.Reason, "err", why.Message)
		e.event(pod, corev1.EventTypeWarning, "Failed", fmt.Sprintf("Error: %s: %s", why.Reason, why.Message))
		return false
	}
	delete(w.why, name)
	e.event(pod, corev1.EventTypeNormal, "Started", "Started container "+name)
	return true
}

// killUnhealthy kills the containers whose liveness probe failed; the
// restart policy then decides (Compute restarts them after back-off).
func (w *podWorker) killUnhealthy(ctx context.Context, rt *runtimeParts, pod *corev1.Pod, rp *runstate.Pod) bool {
	w.mu.Lock()
	unhealthy := w.unhealthy
	w.unhealthy = nil
	w.mu.Unlock()
	killed := false
	for _, c := range rp.Containers {
		msg, ok := unhealthy[c.ID]
		if !ok || c.State != runstate.ContainerRunning {
			continue
		}
		w.e.log.Info("killing a container that failed its liveness probe", "pod", podName(pod), "container", c.Name, "probe", msg)
		w.e.event(pod, corev1.EventTypeNormal, "Killing", fmt.Sprintf("Container %s failed liveness probe, will be restarted", c.Name))
		if err := rt.pods.KillContainer(ctx, c.ID, podsync.GracePeriod(pod)); err != nil {
			w.e.log.Warn("container not stopped", "pod", podName(pod), "container", c.Name, "err", err)
		}
		killed = true
	}
	return killed
}

// report computes the pod's status and hands it to the reporter; it keeps
// the probers in step with the containers.
func (w *podWorker) report(rt *runtimeParts, pod *corev1.Pod, rp *runstate.Pod, a podsync.Actions) corev1.PodStatus {
	why := maps.Clone(w.why)
	if why == nil {
		why = map[string]podsync.Waiting{}
	}
	maps.Copy(why, a.Reasons)
	for name := range why {
		if latest, ok := rp.Latest(name); ok && latest.State == runstate.ContainerRunning {
			delete(why, name)
			delete(w.why, name)
		}
	}
	for name, r := range a.Reasons {
		if r.Reason == podsync.ReasonCrashLoopBackOff && w.why[name].Reason != r.Reason {
			w.e.event(pod, corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container "+name)
		}
	}
	hostIP := w.e.opts.HostIP()
	ready, started := rt.probes.Results(w.uid)
	st := podsync.Status(pod, rp, podsync.StatusInput{Why: why, Ready: ready, Started: started, HostIP: hostIP}, w.e.opts.Now())
	w.e.status.report(pod, st)
	podIP := st.PodIP
	if !terminalPhase(st.Phase) && pod.DeletionTimestamp == nil {
		rt.probes.Sync(pod, rp, podIP)
	}
	return st
}

// reject keeps a pod admission refused from running and reports it Failed
// with the admission's reason.
func (w *podWorker) reject(ctx context.Context, rt *runtimeParts, pod *corev1.Pod, rp *runstate.Pod, r admit.Result) {
	if anyRunning(rp) || hasReadySandbox(rp) {
		if err := rt.pods.KillPod(ctx, rp, podsync.GracePeriod(pod)); err != nil {
			w.e.log.Warn("rejected pod not stopped", "pod", podName(pod), "err", err)
		}
	}
	st := w.e.status.withLast(pod).Status
	st.Phase, st.Reason, st.Message = corev1.PodFailed, r.Reason, r.Message
	w.e.status.report(pod, st)
}

// finish removes what is left of a pod that is no longer desired: its
// containers (stopped with its grace period), sandboxes, volumes and logs.
func (w *podWorker) finish(ctx context.Context, rt *runtimeParts, rp *runstate.Pod) (time.Time, bool) {
	e := w.e
	rt.probes.Remove(w.uid)
	if len(rp.Containers) > 0 || len(rp.Sandboxes) > 0 {
		if anyRunning(rp) || hasReadySandbox(rp) {
			e.log.Info("stopping a pod that left the node", "uid", w.uid, "pod", rp.Namespace+"/"+rp.Name)
			// An orphan's spec is unknown: stop it promptly, as kubelets do.
			grace := podsync.OrphanGracePeriod
			if w.lastPod != nil {
				grace = podsync.GracePeriod(w.lastPod)
			}
			if err := rt.pods.KillPod(ctx, rp, grace); err != nil {
				e.log.Warn("pod not stopped", "uid", w.uid, "err", err)
				return e.opts.Now().Add(retryAfterError), false
			}
		}
		if err := rt.pods.RemovePod(ctx, rp); err != nil {
			e.log.Warn("pod not removed from the runtime", "uid", w.uid, "err", err)
			return e.opts.Now().Add(retryAfterError), false
		}
	}
	if err := rt.volumes.TearDown(w.uid); err != nil {
		e.log.Warn("pod volumes not removed", "uid", w.uid, "err", err)
		return e.opts.Now().Add(retryAfterError), false
	}
	ns, name := rp.Namespace, rp.Name
	if w.lastPod != nil {
		ns, name = w.lastPod.Namespace, w.lastPod.Name
	}
	if name != "" {
		if err := rt.pods.RemoveLogs(ns, name, w.uid); err != nil {
			e.log.Warn("pod logs not removed", "uid", w.uid, "err", err)
		}
	}
	rt.pods.ForgetPod(w.uid)
	e.workers.backoffMu.Lock()
	e.workers.backoff.ForgetPod(w.uid)
	e.workers.backoffMu.Unlock()
	e.status.forget(w.uid)
	e.starts.forget(w.uid)
	e.forgetAdmission(w.uid)
	e.forgetTokens(w.uid)
	return time.Time{}, true
}

// mountFailed records a volume that could not be set up as the reason
// every container of the pod waits.
func (w *podWorker) mountFailed(pod *corev1.Pod, err error) {
	w.e.log.Warn("pod volumes not set up", "pod", podName(pod), "err", err)
	w.e.event(pod, corev1.EventTypeWarning, reasonFailedMount, err.Error())
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		w.setWhy(c.Name, podsync.Waiting{Reason: podsync.ReasonContainerCreating, Message: err.Error()})
	}
}

func (w *podWorker) setWhy(name string, why podsync.Waiting) {
	if w.why == nil {
		w.why = map[string]podsync.Waiting{}
	}
	w.why[name] = why
}

// containerSpec finds the init or app container called name.
func containerSpec(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

// anyRunning reports whether a container of the pod runs.
func anyRunning(rp *runstate.Pod) bool {
	for _, c := range rp.Containers {
		if c.State == runstate.ContainerRunning {
			return true
		}
	}
	return false
}

func hasReadySandbox(rp *runstate.Pod) bool {
	for _, sb := range rp.Sandboxes {
		if sb.State == runstate.SandboxReady {
			return true
		}
	}
	return false
}

func terminalPhase(p corev1.PodPhase) bool {
	return p == corev1.PodSucceeded || p == corev1.PodFailed
}

func podName(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }
