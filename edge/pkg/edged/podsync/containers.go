package podsync

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// latestIn returns the newest instance of the named container in the
// given sandbox.
func latestIn(rp *runstate.Pod, name, sandboxID string) (runstate.Container, bool) {
	if rp == nil {
		return runstate.Container{}, false
	}
	for _, c := range rp.Containers {
		if c.Name == name && c.SandboxID == sandboxID {
			return c, true
		}
	}
	return runstate.Container{}, false
}

// initFailed reports whether an init container's instance failed: exited
// non-zero, OOM-killed, or in an unknown state.
func initFailed(c runstate.Container) bool {
	switch c.State {
	case runstate.ContainerUnknown:
		return true
	case runstate.ContainerExited:
		return c.Inspected && (c.ExitCode != 0 || c.Reason == "OOMKilled")
	}
	return false
}

// init moves the init containers on in the current sandbox, one at a
// time in spec order, and reports whether they are all done. Only
// instances in this sandbox count: a new sandbox runs them all again.
func (w *worker) init(sandboxID string) bool {
	inits := w.pod.Spec.InitContainers
	if len(inits) == 0 {
		return true
	}
	// An app container in this sandbox means init completed here, even
	// if the init containers were garbage-collected since.
	for _, c := range w.pod.Spec.Containers {
		if _, ok := latestIn(w.rp, c.Name, sandboxID); ok {
			return true
		}
	}
	for i := len(inits) - 1; i >= 0; i-- {
		if l, ok := latestIn(w.rp, inits[i].Name, sandboxID); ok && initFailed(l) {
			w.restartInit(l)
			return false
		}
	}
	for i := len(inits) - 1; i >= 0; i-- {
		l, ok := latestIn(w.rp, inits[i].Name, sandboxID)
		if !ok || l.State == runstate.ContainerCreated {
			continue
		}
		if l.State == runstate.ContainerRunning || !l.Inspected {
			return false // running, or exited with a code not yet known
		}
		if i == len(inits)-1 {
			return true
		}
		w.a.StartInit = inits[i+1].Name
		return false
	}
	w.a.StartInit = inits[0].Name
	return false
}

// restartInit handles a failed init container: the pod fails under
// restartPolicy Never, else the container runs again after its back-off.
func (w *worker) restartInit(l runstate.Container) {
	if w.pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
		w.a.KillPod = true
		w.a.KillReason = fmt.Sprintf("init container %s failed and restartPolicy is Never", l.Name)
		return
	}
	if l.State == runstate.ContainerUnknown {
		w.kill(l, "container in unknown state")
		w.a.StartInit = l.Name
		return
	}
	if w.backoffOver(l) {
		w.a.StartInit = l.Name
	}
}

// apps decides for the app containers once init is done: keep the running
// ones (restart those whose image changed), start the others the restart
// policy and the back-off allow, and kill the pod when nothing runs or
// will run again.
func (w *worker) apps(sandboxID string) {
	keep, waiting := 0, 0
	for _, c := range w.pod.Spec.Containers {
		l, ok := w.rp.Latest(c.Name)
		switch {
		case ok && l.State == runstate.ContainerRunning && l.SandboxID != sandboxID:
			// Running in an old sandbox: killStrays kills it; run it here.
			w.start(c.Name)
			continue
		case ok && l.State == runstate.ContainerRunning:
			if l.Image != "" && l.Image != c.Image {
				// A changed spec restarts the container whatever the policy.
				w.kill(l, fmt.Sprintf("image changed from %s to %s", l.Image, c.Image))
				w.start(c.Name)
				continue
			}
			keep++
			continue
		case !ShouldRestart(w.pod, l, ok):
			continue
		}
		if ok && l.State == runstate.ContainerUnknown {
			w.kill(l, "container in unknown state")
		}
		if ok && l.State == runstate.ContainerExited && !w.backoffOver(l) {
			waiting++
			continue
		}
		w.start(c.Name)
	}
	if keep == 0 && waiting == 0 && len(w.a.StartContainers) == 0 {
		w.a.KillPod = true
		w.a.KillReason = "all containers exited and none is to be restarted"
	}
}

func (w *worker) start(name string) {
	w.a.StartContainers = append(w.a.StartContainers, name)
}
