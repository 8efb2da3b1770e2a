package edgecontroller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/common/message"
)

// deletePod is a kubelet's final delete of pod res with uid once nothing
// of it runs on node, allowed as authorizePodDelete says.
func (u *upstream) deletePod(ctx context.Context, node string, res message.Resource, uid types.UID) ([]byte, error) {
	return u.removePod(ctx, node, res, uid, authorizePodDelete)
}

// removePod deletes pod res with uid at once (grace 0, uid as the
// precondition) if allow, given the apiserver's copy, lets node do it (a
// denial otherwise). A pod already gone, or replaced by one with another
// uid, is answered ok: the pod the edge meant is gone and the other is
// never touched. The uid is compared before allow runs, so a node learns
// nothing of pods whose uid it does not know.
func (u *upstream) removePod(ctx context.Context, node string, res message.Resource, uid types.UID, allow func(node string, pod *corev1.Pod) error) ([]byte, error) {
	pods := u.opts.Client.CoreV1().Pods(res.Namespace)
	cur, err := pods.Get(ctx, res.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get pod %s/%s: %w", res.Namespace, res.Name, err)
	}
	if cur.UID != uid {
		u.log.Debug("pod to remove is gone: another pod has its name", "node", node,
			"pod", res.Namespace+"/"+res.Name, "uid", uid, "current", cur.UID)
		return nil, nil
	}
	if err := allow(node, cur); err != nil {
		return nil, err
	}
	err = pods.Delete(ctx, res.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return nil, fmt.Errorf("delete pod %s/%s: %w", res.Namespace, res.Name, err)
	}
	return nil, nil
}
