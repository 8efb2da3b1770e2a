package edgecontroller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/tether-edge/tether/common/kubemsg"
)

// patchPodStatus patches the status of pod, the index's copy, with the
// edge's report, as the kubelet's status manager does. The patch carries
// the pod's uid, so a pod deleted and created again under the same name
// is never patched: that and a pod already gone are logged, not retried
// (the next report is level-triggered anyway).
func (u *upstream) patchPodStatus(ctx context.Context, pod *corev1.Pod, r kubemsg.PodStatusReport) {
	status := mergePodStatus(pod.Status, r.Status)
	patch, unchanged, err := podStatusPatch(pod.UID, pod.Status, status)
	if err != nil {
		u.log.Error("pod status patch not computed", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		return
	}
	if unchanged {
		return
	}
	_, err = u.opts.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	switch {
	case err == nil:
	case apierrors.IsNotFound(err):
		u.log.Debug("pod status dropped: the pod is gone", "pod", pod.Namespace+"/"+pod.Name)
	case apierrors.IsConflict(err):
		u.log.Info("pod status dropped: the pod was replaced", "pod", pod.Namespace+"/"+pod.Name, "uid", pod.UID, "err", err)
	default:
		u.log.Info("pod status not patched", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

// mergePodStatus is the status to write when the edge reports reported
// and the cluster has old: the edge's, keeping the conditions of types the
// edge did not report (a DisruptionTarget, a readiness gate the cloud
// sets) and the scheduler's nominatedNodeName.
func mergePodStatus(old, reported corev1.PodStatus) corev1.PodStatus {
	st := *reported.DeepCopy()
	seen := make(map[corev1.PodConditionType]bool, len(st.Conditions))
	for _, c := range st.Conditions {
		seen[c.Type] = true
	}
	for _, c := range old.Conditions {
		if !seen[c.Type] {
			st.Conditions = append(st.Conditions, *c.DeepCopy())
		}
	}
	if st.NominatedNodeName == "" {
		st.NominatedNodeName = old.NominatedNodeName
	}
	return st
}

// podStatusPatch is the kubelet's status patch from old to updated
// (k8s.io/kubernetes/pkg/util/pod PatchPodStatus): only the new side
// carries the uid, so that it is in the patch as a precondition.
// unchanged says the patch is the uid alone.
func podStatusPatch(uid types.UID, old, updated corev1.PodStatus) (patch []byte, unchanged bool, err error) {
	oldJSON, err := json.Marshal(corev1.Pod{Status: old})
	if err != nil {
		return nil, false, fmt.Errorf("encode pod status: %w", err)
	}
	newJSON, err := json.Marshal(corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: uid}, Status: updated})
	if err != nil {
		return nil, false, fmt.Errorf("encode pod status: %w", err)
	}
	patch, err = strategicpatch.CreateTwoWayMergePatch(oldJSON, newJSON, corev1.Pod{})
	if err != nil {
		return nil, false, fmt.Errorf("pod status patch: %w", err)
	}
	return patch, bytes.Equal(patch, fmt.Appendf(nil, `{"metadata":{"uid":%q}}`, uid)), nil
}
