package edgecontroller

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/common/kubemsg"
)

// authorizePodDelete allows node n the final delete of pod, as the
// apiserver holds it: the pod must be bound to n and either be a mirror
// pod (n's own, as for a mirror pod delete) or be being deleted
// (deletionTimestamp set), so that a node only finishes a deletion the
// cluster asked for and never removes a running pod. deletionTimestamp,
// once set, is never cleared, and spec.nodeName never changes, so the
// decision holds for the delete that follows with the pod's uid as its
// precondition.
func authorizePodDelete(n string, pod *corev1.Pod) error {
	if pod.Spec.NodeName != n {
		return deny("pod %s/%s is bound to node %q, not %s", pod.Namespace, pod.Name, pod.Spec.NodeName, n)
	}
	if _, mirror := pod.Annotations[kubemsg.MirrorPodAnnotation]; mirror {
		return nil
	}
	if pod.DeletionTimestamp == nil {
		return deny("pod %s/%s is not being deleted: node %s may remove only pods the cluster deletes",
			pod.Namespace, pod.Name, n)
	}
	return nil
}
