package edgecontroller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/common/message"
)

// deletePod is a kubelet's final delete of pod res with uid once nothing
// of it runs on node: at once (grace 0), with uid as the precondition. It
// reads the pod from the apiserver and allows the delete only as
// authorizePodDelete says (a denial otherwise). A pod already gone, or
// replaced by one with another uid, is answered ok: the pod the edge
// meant is gone and the other is never touched.
func (u *upstream) deletePod(ctx context.Context, node string, res message.Resource, uid types.UID) ([]byte, error) {
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
	if err := authorizePodDelete(node, cur); err != nil {
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
