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
// pod bound to node (read from the apiserver: a denial otherwise), at
// once (grace 0, as the kubelet: its containers are the static pod's and
// keep running until the manifest goes). A pod already gone, or replaced
// by one with another uid, is answered ok: the pod the edge meant is gone
// and the other is never touched (the uid is the delete's precondition).
func (u *upstream) deleteMirrorPod(ctx context.Context, node string, res message.Resource, uid types.UID) ([]byte, error) {
	pods := u.opts.Client.CoreV1().Pods(res.Namespace)
	cur, err := pods.Get(ctx, res.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get mirror pod %s/%s: %w", res.Namespace, res.Name, err)
	}
	if cur.UID != uid {
		u.log.Debug("mirror pod to delete is gone: another pod has its name", "node", node,
			"pod", res.Namespace+"/"+res.Name, "uid", uid, "current", cur.UID)
		return nil, nil
	}
	if _, ok := cur.Annotations[kubemsg.MirrorPodAnnotation]; !ok {
		return nil, deny("pod %s/%s is not a mirror pod: node %s may delete only its mirror pods", res.Namespace, res.Name, node)
	}
	if cur.Spec.NodeName != node {
		return nil, deny("mirror pod %s/%s is bound to node %q, not %s", res.Namespace, res.Name, cur.Spec.NodeName, node)
	}
	err = pods.Delete(ctx, res.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return nil, fmt.Errorf("delete mirror pod %s/%s: %w", res.Namespace, res.Name, err)
	}
	return nil, nil
}
