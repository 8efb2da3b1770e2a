package edgecontroller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
)

// createMirrorPod creates the mirror pod node sent (authorized) and
// answers the created pod. When a pod of that name exists it answers that
// pod if it is node's mirror pod of the same static pod (config.mirror),
// as after a lost answer; otherwise it fails: the edge deletes the stale
// one first.
func (u *upstream) createMirrorPod(ctx context.Context, node string, sent *corev1.Pod) ([]byte, error) {
	pods := u.opts.Client.CoreV1().Pods(sent.Namespace)
	got, err := pods.Create(ctx, mirrorToCreate(sent), metav1.CreateOptions{})
	if err == nil {
		return objectJSON(got)
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create mirror pod %s/%s: %w", sent.Namespace, sent.Name, err)
	}
	cur, gerr := pods.Get(ctx, sent.Name, metav1.GetOptions{})
	if gerr != nil {
		return nil, fmt.Errorf("create mirror pod %s/%s: %w (then get: %w)", sent.Namespace, sent.Name, err, gerr)
	}
	hash, isMirror := cur.Annotations[kubemsg.MirrorPodAnnotation]
	if !isMirror || cur.Spec.NodeName != node || hash != sent.Annotations[kubemsg.MirrorPodAnnotation] || cur.DeletionTimestamp != nil {
		return nil, fmt.Errorf("create mirror pod %s/%s: %w (as another pod: mirror %v of hash %q on node %q)",
			sent.Namespace, sent.Name, err, isMirror, hash, cur.Spec.NodeName)
	}
	return objectJSON(cur)
}

// mirrorToCreate is sent without what the apiserver sets itself.
func mirrorToCreate(sent *corev1.Pod) *corev1.Pod {
	p := sent.DeepCopy()
	p.UID = ""
	p.ResourceVersion = ""
	p.Generation = 0
	p.CreationTimestamp = metav1.Time{}
	p.DeletionTimestamp = nil
	p.DeletionGracePeriodSeconds = nil
	p.ManagedFields = nil
	p.Status = corev1.PodStatus{}
	return p
}

// deleteMirrorPod deletes the mirror pod res with uid, if it is a mirror
// pod bound to node, at once (as the kubelet: its containers are the
// static pod's and keep running until the manifest goes); see removePod.
func (u *upstream) deleteMirrorPod(ctx context.Context, node string, res message.Resource, uid types.UID) ([]byte, error) {
	return u.removePod(ctx, node, res, uid, authorizeMirrorDelete)
}

// authorizeMirrorDelete allows node to delete pod only if it is a mirror
// pod bound to node.
func authorizeMirrorDelete(node string, pod *corev1.Pod) error {
	if _, ok := pod.Annotations[kubemsg.MirrorPodAnnotation]; !ok {
		return deny("pod %s/%s is not a mirror pod: node %s may delete only its mirror pods", pod.Namespace, pod.Name, node)
	}
	if pod.Spec.NodeName != node {
		return deny("mirror pod %s/%s is bound to node %q, not %s", pod.Namespace, pod.Name, pod.Spec.NodeName, node)
	}
	return nil
}
