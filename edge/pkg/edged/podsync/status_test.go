package podsync

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

func cond(s corev1.PodStatus, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range s.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

func condIs(t *testing.T, s corev1.PodStatus, ct corev1.PodConditionType, want corev1.ConditionStatus, reason, msg string) {
	t.Helper()
	c := cond(s, ct)
	if c.Status != want || c.Reason != reason || c.Message != msg {
		t.Errorf("%s = %s/%q/%q, want %s/%q/%q", ct, c.Status, c.Reason, c.Message, want, reason, msg)
	}
}

func TestStatus(t *testing.T) {
	now := t0.Add(time.Hour)
	ready := []runstate.Sandbox{sandbox("s1", 0, true)}
	always, never := corev1.RestartPolicyAlways, corev1.RestartPolicyNever
	withProbe := func(p *corev1.Pod) *corev1.Pod {
		p.Spec.Containers[1].ReadinessProbe = &corev1.Probe{}
		p.Spec.Containers[2].ReadinessProbe = &corev1.Probe{}
		return p
	}

	tests := []struct {
		name  string
		pod   *corev1.Pod
		rp    *runstate.Pod
		in    StatusInput
		check func(t *testing.T, s corev1.PodStatus)
	}{
		{"pending, image pull failing", mkPod(always, nil, "a"), rpod(ready),
			StatusInput{Why: map[string]Waiting{"a": {Reason: ReasonErrImagePull, Message: "pull a:v1: not found"}}},
			func(t *testing.T, s corev1.PodStatus) {
				if s.Phase != corev1.PodPending {
					t.Errorf("phase %s", s.Phase)
				}
				w := s.ContainerStatuses[0].State.Waiting
				if w == nil || w.Reason != ReasonErrImagePull || w.Message != "pull a:v1: not found" {
					t.Errorf("state %+v", s.ContainerStatuses[0].State)
				}
				if s.PodIP != "10.0.0.7" || len(s.PodIPs) != 1 || !s.StartTime.Time.Equal(now) {
					t.Errorf("ip %q %v start %v", s.PodIP, s.PodIPs, s.StartTime)
				}
				condIs(t, s, corev1.PodScheduled, corev1.ConditionTrue, "", "")
				condIs(t, s, corev1.PodInitialized, corev1.ConditionTrue, "", "")
				condIs(t, s, corev1.ContainersReady, corev1.ConditionFalse, ReasonContainersNotReady, "containers with unready status: [a]")
				condIs(t, s, corev1.PodReady, corev1.ConditionFalse, ReasonContainersNotReady, "containers with unready status: [a]")
			}},
		{"not created yet", mkPod(always, nil, "a"), nil, StatusInput{},
			func(t *testing.T, s corev1.PodStatus) {
				if s.Phase != corev1.PodPending || s.ContainerStatuses[0].State.Waiting.Reason != ReasonContainerCreating {
					t.Errorf("phase %s state %+v", s.Phase, s.ContainerStatuses[0].State)
				}
			}},
		{"running and ready", withProbe(mkPod(always, nil, "a", "b", "c")),
			rpod(ready, running("a", "ca", "s1", 0, t0), running("b", "cb", "s1", 0, t0), running("c", "cc", "s1", 0, t0)),
			StatusInput{Ready: map[string]bool{"cb": true, "cc": true}, HostIP: "192.168.1.5"},
			func(t *testing.T, s corev1.PodStatus) {
				if s.Phase != corev1.PodRunning || s.HostIP != "192.168.1.5" {
					t.Errorf("phase %s hostIP %q", s.Phase, s.HostIP)
				}
				a := s.ContainerStatuses[0]
				if !a.Ready || !*a.Started || a.ContainerID != "containerd://ca" || a.ImageID != "sha256:a" ||
					a.Image != "a:v1" || a.State.Running == nil || !a.State.Running.StartedAt.Time.Equal(t0) {
					t.Errorf("a %+v", a)
				}
				condIs(t, s, corev1.ContainersReady, corev1.ConditionTrue, "", "")
				condIs(t, s, corev1.PodReady, corev1.ConditionTrue, "", "")
			}},
		{"running, readiness probe without result", withProbe(mkPod(always, nil, "a", "b", "c")),
			rpod(ready, running("a", "ca", "s1", 0, t0), running("b", "cb", "s1", 0, t0), running("c", "cc", "s1", 0, t0)),
			StatusInput{Ready: map[string]bool{"cb": true}},
			func(t *testing.T, s corev1.PodStatus) {
				if s.ContainerStatuses[2].Ready || !s.ContainerStatuses[1].Ready {
					t.Errorf("ready b=%v c=%v", s.ContainerStatuses[1].Ready, s.ContainerStatuses[2].Ready)
				}
				condIs(t, s, corev1.PodReady, corev1.ConditionFalse, ReasonContainersNotReady, "containers with unready status: [c]")
			}},
		{"startup probe pending: not started, not ready", func() *corev1.Pod {
			p := mkPod(always, nil, "a")
			p.Spec.Containers[0].StartupProbe = &corev1.Probe{}
			return p
		}(), rpod(ready, running("a", "ca", "s1", 0, t0)), StatusInput{},
			func(t *testing.T, s corev1.PodStatus) {
				if a := s.ContainerStatuses[0]; a.Ready || *a.Started {
					t.Errorf("a ready %v started %v", a.Ready, *a.Started)
				}
			}},
		{"crash-looping", mkPod(always, nil, "a"),
			rpod(ready, exited("a", "c3", "s1", 2, 1, t0.Add(2*time.Minute), t0.Add(3*time.Minute)),
				exited("a", "c2", "s1", 1, 1, t0.Add(time.Minute), t0.Add(time.Minute+time.Second))),
			StatusInput{Why: map[string]Waiting{"a": {Reason: ReasonCrashLoopBackOff, Message: "back-off 20s"}}},
			func(t *testing.T, s corev1.PodStatus) {
				a := s.ContainerStatuses[0]
				if a.State.Waiting == nil || a.State.Waiting.Reason != ReasonCrashLoopBackOff {
					t.Fatalf("state %+v", a.State)
				}
				lt := a.LastTerminationState.Terminated
				if lt == nil || lt.ExitCode != 1 || lt.ContainerID != "containerd://c3" || lt.Reason != "Error" ||
					!lt.FinishedAt.Time.Equal(t0.Add(3*time.Minute)) {
					t.Errorf("last %+v", a.LastTerminationState)
				}
				if a.RestartCount != 2 || a.Ready {
					t.Errorf("restarts %d ready %v", a.RestartCount, a.Ready)
				}
				if s.Phase != corev1.PodRunning {
					t.Errorf("phase %s", s.Phase)
				}
			}},
		{"exited, restarting, no reason: terminated with the previous attempt as last state", mkPod(always, nil, "a"),
			rpod(ready, exited("a", "c3", "s1", 1, 2, t0, t0.Add(time.Second)), exited("a", "c2", "s1", 0, 1, t0, t0)),
			StatusInput{},
			func(t *testing.T, s corev1.PodStatus) {
				a := s.ContainerStatuses[0]
				if a.State.Terminated == nil || a.State.Terminated.ExitCode != 2 ||
					a.LastTerminationState.Terminated == nil || a.LastTerminationState.Terminated.ExitCode != 1 || a.RestartCount != 1 {
					t.Errorf("%+v", a)
				}
			}},
		{"init running", mkPod(always, []string{"i1", "i2"}, "a"),
			rpod(ready, running("i1", "c1", "s1", 0, t0)), StatusInput{},
			func(t *testing.T, s corev1.PodStatus) {
				if s.Phase != corev1.PodPending {
					t.Errorf("phase %s", s.Phase)
				}
				condIs(t, s, corev1.PodInitialized, corev1.ConditionFalse, ReasonContainersNotInitialized,
					"containers with incomplete status: [i1 i2]")
				if w := s.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != ReasonPodInitializing {
					t.Errorf("app %+v", s.ContainerStatuses[0].State)
				}
				if i := s.InitContainerStatuses[0]; i.State.Running == nil || i.Ready || !*i.Started {
					t.Errorf("i1 %+v", i)
				}
			}},
		{"init done", mkPod(always, []string{"i1"}, "a"),
			rpod(ready, running("a", "c2", "s1", 0, t0), exited("i1", "c1", "s1", 0, 0, t0, t0)), StatusInput{},
			func(t *testing.T, s corev1.PodStatus) {
				if s.Phase != corev1.PodRunning || !s.InitContainerStatuses[0].Ready {
					t.Errorf("phase %s init %+v", s.Phase, s.InitContainerStatuses[0])
				}
				condIs(t, s, corev1.PodInitialized, corev1.ConditionTrue, "", "")
			}},
		{"init failed, Never: Failed", mkPod(never, []string{"i1"}, "a"),
			rpod(ready, exited("i1", "c1", "s1", 0, 3, t0, t0)), StatusInput{},
			func(t *testing.T, s corev1.PodStatus) {
				if s.Phase != corev1.PodFailed {
					t.Errorf("phase %s", s.Phase)
				}
			}},
		{"init crash-looping, Always: Pending", mkPod(always, []string{"i1"}, "a"),
			rpod(ready, exited("i1", "c1", "s1", 0, 3, t0, t0)),
			StatusInput{Why: map[string]Waiting{"i1": {Reason: ReasonCrashLoopBackOff}}},
			func(t *testing.T, s corev1.PodStatus) {
				if s.Phase != corev1.PodPending || s.InitContainerStatuses[0].State.Waiting == nil {
					t.Errorf("phase %s init %+v", s.Phase, s.InitContainerStatuses[0])
				}
			}},
		{"Never pod completed: Succeeded", mkPod(never, []string{"i1"}, "a", "b"),
			rpod([]runstate.Sandbox{sandbox("s1", 0, false)}, exited("a", "c2", "s1", 0, 0, t0, t0),
				exited("b", "c3", "s1", 0, 0, t0, t0), exited("i1", "c1", "s1", 0, 0, t0, t0)),
			StatusInput{Why: map[string]Waiting{"a": {Reason: "stale"}}}, // not applied: a is not restarted
			func(t *testing.T, s corev1.PodStatus) {
				if s.Phase != corev1.PodSucceeded || s.ContainerStatuses[0].State.Terminated == nil {
					t.Errorf("phase %s a %+v", s.Phase, s.ContainerStatuses[0].State)
				}
				condIs(t, s, corev1.PodInitialized, corev1.ConditionTrue, ReasonPodCompleted, "")
				condIs(t, s, corev1.ContainersReady, corev1.ConditionFalse, ReasonPodCompleted, "")
				condIs(t, s, corev1.PodReady, corev1.ConditionFalse, ReasonPodCompleted, "")
			}},
		{"Never pod, one failed: Failed", mkPod(never, nil, "a", "b"),
			rpod(ready, exited("a", "c2", "s1", 0, 0, t0, t0), exited("b", "c3", "s1", 0, 137, t0, t0)), StatusInput{},
			func(t *testing.T, s corev1.PodStatus) {
				if s.Phase != corev1.PodFailed {
					t.Errorf("phase %s", s.Phase)
				}
				condIs(t, s, corev1.ContainersReady, corev1.ConditionFalse, ReasonPodFailed, "")
			}},
		{"Never pod, one still running: Running", mkPod(never, nil, "a", "b"),
			rpod(ready, exited("a", "c2", "s1", 0, 1, t0, t0), running("b", "c3", "s1", 0, t0)), StatusInput{},
			func(t *testing.T, s corev1.PodStatus) {
				if s.Phase != corev1.PodRunning {
					t.Errorf("phase %s", s.Phase)
				}
			}},
		{"OnFailure pod, all succeeded: Succeeded", mkPod(corev1.RestartPolicyOnFailure, nil, "a"),
			rpod(ready, exited("a", "c2", "s1", 0, 0, t0, t0)), StatusInput{},
			func(t *testing.T, s corev1.PodStatus) {
				if s.Phase != corev1.PodSucceeded {
					t.Errorf("phase %s", s.Phase)
				}
			}},
		{"Always pod being deleted, all stopped: terminal phase", func() *corev1.Pod {
			p := mkPod(always, nil, "a")
			p.DeletionTimestamp = &metav1.Time{Time: now}
			return p
		}(), rpod(ready, exited("a", "c2", "s1", 0, 143, t0, t0)), StatusInput{},
			func(t *testing.T, s corev1.PodStatus) {
				if s.Phase != corev1.PodFailed {
					t.Errorf("phase %s", s.Phase)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, Status(tt.pod, tt.rp, tt.in, now))
		})
	}
}

// TestStatusKeepsHistory: transition times, start time and IPs come from
// the last reported status when unchanged; a terminal phase is final; a
// container that vanished keeps its reported state.
func TestStatusKeepsHistory(t *testing.T) {
	pod := mkPod(corev1.RestartPolicyAlways, nil, "a", "b")
	rp := rpod([]runstate.Sandbox{sandbox("s1", 0, true)},
		running("a", "ca", "s1", 0, t0), running("b", "cb", "s1", 0, t0))
	first := Status(pod, rp, StatusInput{}, t0)
	for _, c := range first.Conditions {
		if !c.LastTransitionTime.Time.Equal(t0) {
			t.Fatalf("%s at %v", c.Type, c.LastTransitionTime)
		}
	}
	pod.Status = first
	pod.Status.Conditions = append(pod.Status.Conditions,
		corev1.PodCondition{Type: "example.com/gate", Status: corev1.ConditionTrue})

	// b crashes; a keeps running. The sandbox's IP is not read yet.
	later := t0.Add(time.Hour)
	rp2 := rpod([]runstate.Sandbox{{ID: "s1", State: runstate.SandboxReady}},
		running("a", "ca", "s1", 0, t0), exited("b", "cb", "s1", 0, 1, t0, later))
	s := Status(pod, rp2, StatusInput{}, later)
	if !s.StartTime.Time.Equal(t0) || s.PodIP != "10.0.0.7" {
		t.Errorf("start %v ip %q", s.StartTime, s.PodIP)
	}
	for _, c := range s.Conditions[:4] {
		want := t0
		if c.Type == corev1.ContainersReady || c.Type == corev1.PodReady {
			want = later // True -> False
		}
		if !c.LastTransitionTime.Time.Equal(want) {
			t.Errorf("%s transition %v, want %v", c.Type, c.LastTransitionTime, want)
		}
	}
	if c := cond(s, "example.com/gate"); c.Status != corev1.ConditionTrue {
		t.Errorf("foreign condition dropped: %+v", s.Conditions)
	}

	// Both containers vanish from the runtime: b keeps its terminated
	// state, a was running and is reported as lost.
	pod.Status = s
	s = Status(pod, rpod(nil), StatusInput{}, later)
	if b := s.ContainerStatuses[1]; b.State.Terminated == nil || b.State.Terminated.ExitCode != 1 {
		t.Errorf("b %+v", b)
	}
	a := s.ContainerStatuses[0]
	if a.State.Waiting == nil || a.LastTerminationState.Terminated == nil ||
		a.LastTerminationState.Terminated.Reason != ReasonContainerStatusUnknown || a.RestartCount != 1 {
		t.Errorf("a %+v", a)
	}

	pod.Status.Phase = corev1.PodFailed
	if s := Status(pod, rp, StatusInput{}, later); s.Phase != corev1.PodFailed {
		t.Errorf("terminal phase left: %s", s.Phase)
	}
}

func TestStatusHostNetwork(t *testing.T) {
	pod := mkPod(corev1.RestartPolicyAlways, nil, "a")
	pod.Spec.HostNetwork = true
	s := Status(pod, rpod([]runstate.Sandbox{{ID: "s1", State: runstate.SandboxReady}}), StatusInput{HostIP: "192.168.1.5"}, t0)
	if s.PodIP != "192.168.1.5" || s.HostIP != "192.168.1.5" {
		t.Errorf("podIP %q hostIP %q", s.PodIP, s.HostIP)
	}
}

func TestStatusReadinessGates(t *testing.T) {
	pod := mkPod(corev1.RestartPolicyAlways, nil, "a")
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
	rp := rpod([]runstate.Sandbox{sandbox("s1", 0, true)}, running("a", "ca", "s1", 0, t0))
	s := Status(pod, rp, StatusInput{}, t0)
	condIs(t, s, corev1.ContainersReady, corev1.ConditionTrue, "", "")
	condIs(t, s, corev1.PodReady, corev1.ConditionFalse, ReasonReadinessGatesNotReady,
		`corresponding condition of pod readiness gate "example.com/lb" does not exist.`)
	pod.Status.Conditions = []corev1.PodCondition{{Type: "example.com/lb", Status: corev1.ConditionTrue}}
	condIs(t, Status(pod, rp, StatusInput{}, t0), corev1.PodReady, corev1.ConditionTrue, "", "")
}
