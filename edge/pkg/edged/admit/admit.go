package admit

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Reasons a pod is refused, as the kubelet gives them.
const (
	ReasonOutOfCPU              = "OutOfcpu"
	ReasonOutOfMemory           = "OutOfmemory"
	ReasonOutOfEphemeralStorage = "OutOfephemeral-storage"
	ReasonOutOfPods             = "OutOfpods"
	ReasonNodeAffinity          = "NodeAffinity"
	ReasonNodePorts             = "NodePorts"
	ReasonPodOSNotSupported     = "PodOSNotSupported"
)

// rejected prefixes every message, as the kubelet's pod status has it.
const rejected = "Pod was rejected: "

// Node is what admission needs of this node.
type Node struct {
	// Name is the Node's name, for node affinity's metadata.name fields.
	Name string
	// Allocatable is the Node's allocatable: cpu, memory,
	// ephemeral-storage and pods. A missing resource is zero.
	Allocatable corev1.ResourceList
	// Labels are the Node's labels.
	Labels map[string]string
}

// Result is Admit's decision.
type Result struct {
	// OK says the pod may run.
	OK bool
	// Reason and Message say why it may not, for the pod's status:
	// "OutOfcpu" and "Pod was rejected: Node didn't have enough resource:
	// cpu, requested: 2000, used: 500, capacity: 2000", for instance.
	Reason, Message string
}

// Admit decides whether pod may run on node next to admitted, the pods
// admitted before it (those in a terminal phase do not count). See the
// package doc for the checks.
func Admit(pod *corev1.Pod, admitted []*corev1.Pod, node Node) Result {
	if pod.Spec.OS != nil && pod.Spec.OS.Name != corev1.Linux {
		return Result{Reason: ReasonPodOSNotSupported, Message: rejected + "Failed to admit pod as the OS field doesn't match node OS"}
	}
	others := active(pod, admitted)
	if r, ok := fitsResources(pod, others, node.Allocatable); !ok {
		return r
	}
	if !matchesNode(pod, node) {
		return predicateFailed(ReasonNodeAffinity, "node(s) didn't match Pod's node affinity/selector")
	}
	if !fitsPorts(pod, others) {
		return predicateFailed(ReasonNodePorts, "node(s) didn't have free ports for the requested pod ports")
	}
	return Result{OK: true}
}

// active are the admitted pods that count: not terminal, not pod itself.
func active(pod *corev1.Pod, admitted []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range admitted {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if pod.UID != "" && p.UID == pod.UID {
			continue
		}
		out = append(out, p)
	}
	return out
}

// predicateFailed is the kubelet's refusal by a scheduler predicate.
func predicateFailed(name, desc string) Result {
	return Result{Reason: name, Message: fmt.Sprintf("%sPredicate %s failed: %s", rejected, name, desc)}
}
