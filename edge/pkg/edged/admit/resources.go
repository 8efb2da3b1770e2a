package admit

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// checked are the resources admission compares, in the kubelet's order,
// with the reason each gives and how it is counted (cpu in millicores).
var checked = []struct {
	name   corev1.ResourceName
	reason string
	value  func(resource.Quantity) int64
}{
	{corev1.ResourceCPU, ReasonOutOfCPU, func(q resource.Quantity) int64 { return q.MilliValue() }},
	{corev1.ResourceMemory, ReasonOutOfMemory, func(q resource.Quantity) int64 { return q.Value() }},
	{corev1.ResourceEphemeralStorage, ReasonOutOfEphemeralStorage, func(q resource.Quantity) int64 { return q.Value() }},
}

// fitsResources says whether pod fits next to others within allocatable:
// one more pod, and each resource it requests no more than allocatable less
// what others request.
func fitsResources(pod *corev1.Pod, others []*corev1.Pod, allocatable corev1.ResourceList) (Result, bool) {
	maxPods := allocatable.Pods().Value()
	if int64(len(others))+1 > maxPods {
		return outOf(corev1.ResourcePods, ReasonOutOfPods, 1, int64(len(others)), maxPods), false
	}
	req := PodRequests(pod)
	used := corev1.ResourceList{}
	for _, p := range others {
		add(used, PodRequests(p))
	}
	for _, c := range checked {
		r, ok := req[c.name]
		if !ok || c.value(r) <= 0 {
			continue
		}
		capacity, inUse := c.value(allocatable[c.name]), c.value(used[c.name])
		if c.value(r) > capacity-inUse {
			return outOf(c.name, c.reason, c.value(r), inUse, capacity), false
		}
	}
	return Result{}, true
}

// outOf is the kubelet's refusal for want of a resource.
func outOf(name corev1.ResourceName, reason string, requested, used, capacity int64) Result {
	return Result{
		Reason: reason,
		Message: fmt.Sprintf("%sNode didn't have enough resource: %s, requested: %d, used: %d, capacity: %d",
			rejected, name, requested, used, capacity),
	}
}

// PodRequests is what pod requests of the node, by the kubelet's rule: the
// larger of the sum of its app containers and sidecars (restartable init
// containers) and each init container's request with the sidecars started
// before it, per resource; pod-level requests, where set, instead of the
// containers' for the resources they name; plus the pod's overhead. A
// container's missing request is its limit, as the API server defaults it.
func PodRequests(pod *corev1.Pod) corev1.ResourceList {
	reqs := corev1.ResourceList{}
	for i := range pod.Spec.Containers {
		add(reqs, requests(pod.Spec.Containers[i].Resources))
	}
	sidecars := corev1.ResourceList{}
	inits := corev1.ResourceList{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		r := requests(c.Resources)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			add(reqs, r)
			add(sidecars, r)
			r = sidecars
		} else {
			add(r, sidecars)
		}
		maxOf(inits, r)
	}
	maxOf(reqs, inits)
	if pod.Spec.Resources != nil {
		for name, q := range requests(*pod.Spec.Resources) {
			if name == corev1.ResourceCPU || name == corev1.ResourceMemory {
				reqs[name] = q.DeepCopy()
			}
		}
	}
	add(reqs, pod.Spec.Overhead)
	return reqs
}

// requests are r's requests, with the limit of each resource that has no
// request (the API server's default); a new list.
func requests(r corev1.ResourceRequirements) corev1.ResourceList {
	out := r.Requests.DeepCopy()
	if out == nil {
		out = corev1.ResourceList{}
	}
	for name, q := range r.Limits {
		if _, ok := out[name]; !ok {
			out[name] = q.DeepCopy()
		}
	}
	return out
}

// add adds more to into.
func add(into, more corev1.ResourceList) {
	for name, q := range more {
		sum := into[name]
		sum.Add(q)
		into[name] = sum
	}
}

// maxOf raises each resource of into to that of other where it is larger.
func maxOf(into, other corev1.ResourceList) {
	for name, q := range other {
		if cur, ok := into[name]; !ok || q.Cmp(cur) > 0 {
			into[name] = q.DeepCopy()
		}
	}
}
