// Package admit decides, as the kubelet's admission does, whether a pod may
// run on this node next to the pods already admitted. It is pure: Edged
// calls Admit with the pod, its admitted pods and the Node's allocatable
// (nodestatus.Allocatable, the numbers the Node reports) and labels, before
// starting a pod's worker; a refused pod gets phase Failed with the Result's
// reason and message, which are the kubelet's.
//
// The checks, in the kubelet's order, the first failing one giving the
// Result:
//
//   - the pod's spec.os is linux, when set (PodOSNotSupported);
//   - resources (the scheduler's NodeResourcesFit): the pod count, then
//     cpu, memory and ephemeral-storage requests against allocatable less
//     what the admitted pods request (OutOfpods, OutOfcpu, ...). A pod
//     requests max(sum of its containers and sidecars, each init container
//     with the sidecars started before it) plus its overhead; pod-level
//     requests replace the containers' for the resources they name; a
//     missing request is its limit, as the API server defaults it. A pod
//     requesting none of the three always fits them but still counts as a
//     pod. Other resources (extended ones, hugepages) are not checked;
//   - nodeSelector and required node affinity against the node's labels
//     and name (NodeAffinity);
//   - host ports of the app containers against the admitted pods' (same
//     protocol and port on the same host IP, where 0.0.0.0 or an empty IP
//     overlaps every IP) (NodePorts).
//
// Admitted pods in phase Succeeded or Failed, and the pod itself (by UID),
// are not counted. Static and mirror pods are admitted like any other.
package admit
