package podsync

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// phase is the kubelet's getPhase over the computed container statuses.
// terminal says the pod will run nothing again (being deleted, nothing
// running): stopped containers then decide Succeeded or Failed whatever
// the restart policy.
func phase(pod *corev1.Pod, inits, apps []corev1.ContainerStatus, terminal bool) corev1.PodPhase {
	pendingInit, failedInit := 0, 0
	for _, c := range pod.Spec.InitContainers {
		st := findStatus(inits, c.Name)
		switch {
		case st == nil || st.State.Running != nil:
			pendingInit++
		case st.State.Terminated != nil:
			if st.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case st.LastTerminationState.Terminated != nil:
			if st.LastTerminationState.Terminated.ExitCode != 0 {
				failedInit++
			}
		default:
			pendingInit++
		}
	}
	unknown, running, waiting, stopped, succeeded := 0, 0, 0, 0, 0
	for _, c := range pod.Spec.Containers {
		st := findStatus(apps, c.Name)
		switch {
		case st == nil:
			unknown++
		case st.State.Running != nil:
			running++
		case st.State.Terminated != nil:
			stopped++
			if st.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case st.State.Waiting != nil && st.LastTerminationState.Terminated != nil:
			stopped++
		case st.State.Waiting != nil:
			waiting++
		default:
			unknown++
		}
	}
	policy := pod.Spec.RestartPolicy
	if failedInit > 0 && policy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	switch {
	case pendingInit > 0 && !anyStarted(apps), waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		switch {
		case terminal && stopped == succeeded:
			return corev1.PodSucceeded
		case terminal:
			return corev1.PodFailed
		case policy == corev1.RestartPolicyAlways:
			return corev1.PodRunning // restarting
		case stopped == succeeded:
			return corev1.PodSucceeded
		case policy == corev1.RestartPolicyNever:
			return corev1.PodFailed
		}
		return corev1.PodRunning // OnFailure, restarting the failed ones
	}
	return corev1.PodPending
}

// anyStarted reports whether an app container has ever run: the pod was
// initialized before, even if init containers show pending now.
func anyStarted(apps []corev1.ContainerStatus) bool {
	for _, st := range apps {
		if st.State.Running != nil || st.State.Terminated != nil || st.LastTerminationState.Terminated != nil {
			return true
		}
	}
	return false
}

// Condition reasons, the kubelet's.
const (
	ReasonContainersNotInitialized = "ContainersNotInitialized"
	ReasonContainersNotReady       = "ContainersNotReady"
	ReasonReadinessGatesNotReady   = "ReadinessGatesNotReady"
	ReasonPodCompleted             = "PodCompleted"
	ReasonPodFailed                = "PodFailed"
)

// kubeletConditions are the condition types Status owns; the pod's other
// conditions (readiness gates, DisruptionTarget...) are kept as they are.
var kubeletConditions = map[corev1.PodConditionType]bool{
	corev1.PodScheduled:    true,
	corev1.PodInitialized:  true,
	corev1.ContainersReady: true,
	corev1.PodReady:        true,
}

// conditions computes PodScheduled, Initialized, ContainersReady and
// Ready, keeping each one's lastTransitionTime from pod.Status when its
// status did not change.
func conditions(pod *corev1.Pod, s *corev1.PodStatus, now time.Time) []corev1.PodCondition {
	initialized := initializedCondition(pod, s)
	containersReady := containersReadyCondition(pod, s)
	ready := containersReady
	ready.Type = corev1.PodReady
	if ready.Status == corev1.ConditionTrue {
		ready = gatesCondition(pod)
	}
	out := []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
		initialized, containersReady, ready,
	}
	for i := range out {
		out[i].LastTransitionTime = metav1.NewTime(now)
		for _, c := range pod.Status.Conditions {
			if c.Type == out[i].Type && c.Status == out[i].Status && !c.LastTransitionTime.IsZero() {
				out[i].LastTransitionTime = c.LastTransitionTime
			}
		}
	}
	for _, c := range pod.Status.Conditions {
		if !kubeletConditions[c.Type] {
			out = append(out, c)
		}
	}
	return out
}

func initializedCondition(pod *corev1.Pod, s *corev1.PodStatus) corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	var unknown, incomplete []string
	for _, ic := range pod.Spec.InitContainers {
		st := findStatus(s.InitContainerStatuses, ic.Name)
		switch {
		case st == nil:
			unknown = append(unknown, ic.Name)
		case !st.Ready:
			incomplete = append(incomplete, ic.Name)
		}
	}
	switch {
	case s.Phase == corev1.PodSucceeded && len(unknown) == 0:
		c.Reason = ReasonPodCompleted
		return c
	case anyStarted(s.ContainerStatuses):
		return c
	}
	if msg := listMessage(unknown, incomplete, "incomplete"); msg != "" {
		c.Status, c.Reason, c.Message = corev1.ConditionFalse, ReasonContainersNotInitialized, msg
	}
	return c
}

func containersReadyCondition(pod *corev1.Pod, s *corev1.PodStatus) corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
	switch s.Phase {
	case corev1.PodSucceeded:
		c.Status, c.Reason = corev1.ConditionFalse, ReasonPodCompleted
		return c
	case corev1.PodFailed:
		c.Status, c.Reason = corev1.ConditionFalse, ReasonPodFailed
		return c
	}
	var unknown, unready []string
	for _, ac := range pod.Spec.Containers {
		st := findStatus(s.ContainerStatuses, ac.Name)
		switch {
		case st == nil:
			unknown = append(unknown, ac.Name)
		case !st.Ready:
			unready = append(unready, ac.Name)
		}
	}
	if msg := listMessage(unknown, unready, "unready"); msg != "" {
		c.Status, c.Reason, c.Message = corev1.ConditionFalse, ReasonContainersNotReady, msg
	}
	return c
}

// listMessage is the kubelet's "containers with ... status: [a b]".
func listMessage(unknown, bad []string, what string) string {
	msg := ""
	if len(unknown) > 0 {
		msg = fmt.Sprintf("containers with unknown status: %s", unknown)
	}
	if len(bad) > 0 {
		if msg != "" {
			msg += ", "
		}
		msg += fmt.Sprintf("containers with %s status: %s", what, bad)
	}
	return msg
}

// gatesCondition is Ready for a pod whose containers are ready: true
// unless a readiness gate's condition is missing or not True.
func gatesCondition(pod *corev1.Pod) corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
	var msgs []string
	for _, g := range pod.Spec.ReadinessGates {
		var found *corev1.PodCondition
		for i := range pod.Status.Conditions {
			if pod.Status.Conditions[i].Type == g.ConditionType {
				found = &pod.Status.Conditions[i]
			}
		}
		switch {
		case found == nil:
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType))
		case found.Status != corev1.ConditionTrue:
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", g.ConditionType, found.Status))
		}
	}
	if len(msgs) > 0 {
		c.Status, c.Reason = corev1.ConditionFalse, ReasonReadinessGatesNotReady
		c.Message = msgs[0]
		for _, m := range msgs[1:] {
			c.Message += ", " + m
		}
	}
	return c
}
