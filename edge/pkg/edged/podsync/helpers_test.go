package podsync

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// mkPod builds a pod with the given restart policy, init containers and
// app containers; every container's image is "<name>:v1".
func mkPod(policy corev1.RestartPolicy, inits []string, apps ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{UID: "uid-1", Namespace: "ns", Name: "web"},
		Spec:       corev1.PodSpec{RestartPolicy: policy},
	}
	for _, n := range inits {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n, Image: n + ":v1"})
	}
	for _, n := range apps {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: n + ":v1"})
	}
	return p
}

func sandbox(id string, attempt uint32, ready bool) runstate.Sandbox {
	s := runstate.Sandbox{ID: id, Attempt: attempt, State: runstate.SandboxNotReady, IP: "10.0.0.7"}
	if ready {
		s.State = runstate.SandboxReady
	}
	return s
}

func rpod(sbs []runstate.Sandbox, cs ...runstate.Container) *runstate.Pod {
	return &runstate.Pod{UID: "uid-1", Namespace: "ns", Name: "web", Sandboxes: sbs, Containers: cs}
}

func ctr(name, id, sb string, attempt uint32) runstate.Container {
	return runstate.Container{ID: id, Name: name, SandboxID: sb, Attempt: attempt,
		Image: name + ":v1", ImageRef: "sha256:" + name, CreatedAt: t0}
}

func running(name, id, sb string, attempt uint32, started time.Time) runstate.Container {
	c := ctr(name, id, sb, attempt)
	c.State = runstate.ContainerRunning
	c.Detail = runstate.Detail{Inspected: true, StartedAt: started}
	return c
}

func exited(name, id, sb string, attempt uint32, code int32, started, finished time.Time) runstate.Container {
	c := ctr(name, id, sb, attempt)
	c.State = runstate.ContainerExited
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	c.Detail = runstate.Detail{Inspected: true, StartedAt: started, FinishedAt: finished, ExitCode: code, Reason: reason}
	return c
}

func ptr[T any](v T) *T { return &v }
