package podsync

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

func TestCompute(t *testing.T) {
	now := t0.Add(time.Hour)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	ready := []runstate.Sandbox{sandbox("s1", 0, true)}
	always, onFail, never := corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever
	deleting := mkPod(always, nil, "app")
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	deleting.DeletionGracePeriodSeconds = ptr[int64](5)
	terminal := mkPod(never, nil, "app")
	terminal.Status.Phase = corev1.PodSucceeded
	newImage := mkPod(always, nil, "app", "side")
	newImage.Spec.Containers[0].Image = "app:v2"

	tests := []struct {
		name string
		pod  *corev1.Pod
		rp   *runstate.Pod
		want Actions // GracePeriod 30s unless set
	}{
		{"pod gone", nil, rpod(ready, running("app", "c1", "s1", 0, t0)),
			Actions{KillPod: true, KillReason: "pod removed from the node"}},
		{"pod deleting uses its deletion grace period", deleting, rpod(ready, running("app", "c1", "s1", 0, t0)),
			Actions{KillPod: true, KillReason: "pod is being deleted", GracePeriod: 5 * time.Second}},
		{"terminal pod is not run again", terminal, nil,
			Actions{KillPod: true, KillReason: "pod is terminal (Succeeded)"}},
		{"nothing yet: first sandbox, app containers", mkPod(always, nil, "a", "b"), nil,
			Actions{CreateSandbox: true, StartContainers: []string{"a", "b"}}},
		{"nothing yet: first sandbox, first init", mkPod(always, []string{"i1", "i2"}, "a"), nil,
			Actions{CreateSandbox: true, StartInit: "i1"}},
		{"sandbox not ready: kill, new attempt, init again from the start",
			mkPod(always, []string{"i1"}, "a"),
			rpod([]runstate.Sandbox{sandbox("s1", 2, false)},
				running("a", "c2", "s1", 0, t0), exited("i1", "c1", "s1", 0, 0, t0, t0)),
			Actions{KillPod: true, KillReason: "no ready sandbox", CreateSandbox: true, Attempt: 3, StartInit: "i1"}},
		{"two ready sandboxes: start over",
			mkPod(always, nil, "a"),
			rpod([]runstate.Sandbox{sandbox("s2", 1, true), sandbox("s1", 0, true)}, running("a", "c1", "s2", 0, t0)),
			Actions{KillPod: true, KillReason: "no ready sandbox", CreateSandbox: true, Attempt: 2, StartContainers: []string{"a"}}},
		{"sandbox gone, Never pod that ran: no new sandbox",
			mkPod(never, nil, "a"),
			rpod([]runstate.Sandbox{sandbox("s1", 0, false)}, exited("a", "c1", "s1", 0, 1, t0, t0)),
			Actions{KillPod: true, KillReason: "sandbox gone and restartPolicy is Never"}},
		{"sandbox gone, OnFailure: only the failed containers again",
			mkPod(onFail, nil, "ok", "bad"),
			rpod([]runstate.Sandbox{sandbox("s1", 0, false)},
				exited("ok", "c1", "s1", 0, 0, t0, t0), exited("bad", "c2", "s1", 0, 1, t0, ago(time.Hour))),
			Actions{KillPod: true, KillReason: "no ready sandbox", CreateSandbox: true, Attempt: 1, StartContainers: []string{"bad"}}},
		{"sandbox gone, OnFailure, all succeeded: done",
			mkPod(onFail, nil, "ok"),
			rpod([]runstate.Sandbox{sandbox("s1", 0, false)}, exited("ok", "c1", "s1", 0, 0, t0, t0)),
			Actions{KillPod: true, KillReason: "all containers succeeded"}},
		{"init running: wait", mkPod(always, []string{"i1", "i2"}, "a"),
			rpod(ready, running("i1", "c1", "s1", 0, t0)),
			Actions{SandboxID: "s1"}},
		{"init succeeded: next init", mkPod(always, []string{"i1", "i2"}, "a"),
			rpod(ready, exited("i1", "c1", "s1", 0, 0, t0, t0)),
			Actions{SandboxID: "s1", StartInit: "i2"}},
		{"all init succeeded: app containers", mkPod(always, []string{"i1", "i2"}, "a"),
			rpod(ready, exited("i2", "c2", "s1", 0, 0, t0, t0), exited("i1", "c1", "s1", 0, 0, t0, t0)),
			Actions{SandboxID: "s1", StartContainers: []string{"a"}}},
		{"init of an old sandbox does not count", mkPod(always, []string{"i1"}, "a"),
			rpod([]runstate.Sandbox{sandbox("s2", 1, true), sandbox("s1", 0, false)}, exited("i1", "c1", "s1", 0, 0, t0, t0)),
			Actions{SandboxID: "s2", StartInit: "i1"}},
		{"init failed, OnFailure: restart it", mkPod(onFail, []string{"i1", "i2"}, "a"),
			rpod(ready, exited("i1", "c1", "s1", 0, 1, t0, ago(time.Minute))),
			Actions{SandboxID: "s1", StartInit: "i1"}},
		{"init failed, Never: pod fails", mkPod(never, []string{"i1", "i2"}, "a"),
			rpod(ready, exited("i1", "c1", "s1", 0, 1, t0, ago(time.Minute))),
			Actions{SandboxID: "s1", KillPod: true, KillReason: "init container i1 failed and restartPolicy is Never"}},
		{"init failed, in back-off", mkPod(always, []string{"i1"}, "a"),
			rpod(ready, exited("i1", "c1", "s1", 0, 1, ago(6*time.Second), ago(5*time.Second))),
			Actions{SandboxID: "s1", WaitUntil: now.Add(5 * time.Second), Reasons: map[string]Waiting{"i1": {Reason: ReasonCrashLoopBackOff}}}},
		{"app running: nothing to do", mkPod(always, nil, "a"),
			rpod(ready, running("a", "c1", "s1", 0, t0)),
			Actions{SandboxID: "s1"}},
		{"app exited, Always, back-off over: start", mkPod(always, nil, "a", "b"),
			rpod(ready, running("b", "c2", "s1", 0, t0), exited("a", "c1", "s1", 0, 0, t0, ago(time.Minute))),
			Actions{SandboxID: "s1", StartContainers: []string{"a"}}},
		{"app exited, in back-off: CrashLoopBackOff", mkPod(always, nil, "a", "b"),
			rpod(ready, running("b", "c2", "s1", 0, t0), exited("a", "c1", "s1", 0, 2, ago(4*time.Second), ago(3*time.Second))),
			Actions{SandboxID: "s1", WaitUntil: now.Add(7 * time.Second), Reasons: map[string]Waiting{"a": {Reason: ReasonCrashLoopBackOff}}}},
		{"app exited 0, OnFailure: not restarted, others keep running", mkPod(onFail, nil, "a", "b"),
			rpod(ready, running("b", "c2", "s1", 0, t0), exited("a", "c1", "s1", 0, 0, t0, ago(time.Minute))),
			Actions{SandboxID: "s1"}},
		{"app exited 1, OnFailure: restarted", mkPod(onFail, nil, "a"),
			rpod(ready, exited("a", "c1", "s1", 0, 1, t0, ago(time.Minute))),
			Actions{SandboxID: "s1", StartContainers: []string{"a"}}},
		{"app exited, Never: pod done", mkPod(never, nil, "a"),
			rpod(ready, exited("a", "c1", "s1", 0, 1, t0, ago(time.Minute))),
			Actions{SandboxID: "s1", KillPod: true, KillReason: "all containers exited and none is to be restarted"}},
		{"app exited, not inspected yet: wait", mkPod(always, nil, "a"),
			rpod(ready, func() runstate.Container {
				c := exited("a", "c1", "s1", 0, 1, t0, t0)
				c.Detail = runstate.Detail{}
				return c
			}()),
			Actions{SandboxID: "s1"}},
		{"app unknown: kill and start", mkPod(never, nil, "a"),
			rpod(ready, func() runstate.Container { c := ctr("a", "c1", "s1", 0); return c }()),
			Actions{SandboxID: "s1", StartContainers: []string{"a"},
				KillContainers: []Kill{{ID: "c1", Name: "a", Reason: "container in unknown state"}}}},
		{"two in back-off: wait for the earliest", mkPod(always, nil, "a", "b"),
			rpod(ready, exited("a", "c1", "s1", 0, 1, ago(4*time.Second), ago(3*time.Second)),
				exited("b", "c2", "s1", 0, 1, ago(9*time.Second), ago(8*time.Second))),
			Actions{SandboxID: "s1", WaitUntil: now.Add(2 * time.Second),
				Reasons: map[string]Waiting{"a": {Reason: ReasonCrashLoopBackOff}, "b": {Reason: ReasonCrashLoopBackOff}}}},
		{"running in an old sandbox: kill it and run it here", mkPod(always, nil, "a"),
			rpod([]runstate.Sandbox{sandbox("s2", 1, true), sandbox("s1", 0, false)}, running("a", "c1", "s1", 0, t0)),
			Actions{SandboxID: "s2", StartContainers: []string{"a"},
				KillContainers: []Kill{{ID: "c1", Name: "a", Reason: "container not in the pod's current sandbox"}}}},
		{"container not in spec: kill", mkPod(always, nil, "a"),
			rpod(ready, running("a", "c1", "s1", 0, t0), running("old", "c0", "s1", 0, t0)),
			Actions{SandboxID: "s1", KillContainers: []Kill{{ID: "c0", Name: "old", Reason: "container not in the pod's spec"}}}},
		{"image changed: kill and start, even under Never", func() *corev1.Pod { p := newImage.DeepCopy(); p.Spec.RestartPolicy = never; return p }(),
			rpod(ready, running("app", "c1", "s1", 0, t0), running("side", "c2", "s1", 0, t0)),
			Actions{SandboxID: "s1", StartContainers: []string{"app"},
				KillContainers: []Kill{{ID: "c1", Name: "app", Reason: "image changed from app:v1 to app:v2"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compute(tt.pod, tt.rp, &Backoff{}, now)
			if tt.want.GracePeriod == 0 {
				tt.want.GracePeriod = DefaultGracePeriod
			}
			for n, w := range got.Reasons {
				if !strings.HasPrefix(w.Message, "back-off ") {
					t.Errorf("reason %s: message %q", n, w.Message)
				}
				w.Message = ""
				got.Reasons[n] = w
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestComputeCrashLoop drives a crashing container through several exits:
// the back-off grows and Compute, called repeatedly, does not inflate it.
func TestComputeCrashLoop(t *testing.T) {
	pod := mkPod(corev1.RestartPolicyAlways, nil, "a")
	sbs := []runstate.Sandbox{sandbox("s1", 0, true)}
	var b Backoff
	finished := t0
	for i, want := range []time.Duration{10, 20, 40} {
		want *= time.Second
		rp := rpod(sbs, exited("a", "c", "s1", uint32(i), 1, finished.Add(-time.Second), finished))
		for range 3 { // recomputing from the same snapshot changes nothing
			got := Compute(pod, rp, &b, finished.Add(time.Second))
			if len(got.StartContainers) != 0 || !got.WaitUntil.Equal(finished.Add(want)) {
				t.Fatalf("exit %d: %+v, want wait until +%v", i, got, want)
			}
			if msg := got.Reasons["a"].Message; !strings.HasPrefix(msg, "back-off "+want.String()+" restarting failed container=a pod=web_ns(uid-1)") {
				t.Fatalf("exit %d: message %q", i, msg)
			}
		}
		got := Compute(pod, rp, &b, finished.Add(want))
		if !reflect.DeepEqual(got.StartContainers, []string{"a"}) || got.Reasons != nil {
			t.Fatalf("exit %d at expiry: %+v", i, got)
		}
		finished = finished.Add(want + 2*time.Second)
	}
}

func TestGracePeriod(t *testing.T) {
	p := mkPod(corev1.RestartPolicyAlways, nil, "a")
	if got := GracePeriod(p); got != 30*time.Second {
		t.Fatalf("default %v", got)
	}
	p.Spec.TerminationGracePeriodSeconds = ptr[int64](60)
	if got := GracePeriod(p); got != time.Minute {
		t.Fatalf("spec %v", got)
	}
	p.DeletionGracePeriodSeconds = ptr[int64](5)
	if got := GracePeriod(p); got != 5*time.Second {
		t.Fatalf("deletion 5 %v", got)
	}
	p.DeletionGracePeriodSeconds = ptr[int64](0)
	if got := GracePeriod(p); got != 0 {
		t.Fatalf("deletion 0 %v, want 0 (kill at once)", got)
	}
	p.DeletionGracePeriodSeconds = ptr[int64](-1)
	if got := GracePeriod(p); got != 0 {
		t.Fatalf("deletion -1 %v, want 0", got)
	}
}
