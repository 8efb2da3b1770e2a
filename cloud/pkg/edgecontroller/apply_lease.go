package edgecontroller

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/tether-edge/tether/common/kubemsg"
)

// renewLease renews node's Lease in kube-node-lease, creating it if it
// does not exist, as the kubelet's lease controller does; the renew time
// is the cloud's clock. Failures are logged: the next renewal tries again.
func (u *upstream) renewLease(ctx context.Context, node string, r kubemsg.LeaseRenewal) {
	leases := u.opts.Client.CoordinationV1().Leases(kubemsg.LeaseNamespace)
	err := retry.OnError(retry.DefaultRetry, isConflictOrExists, func() error {
		cur, err := u.currentLease(ctx, node)
		if apierrors.IsNotFound(err) {
			l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: kubemsg.LeaseNamespace}}
			renewed(l, node, r.DurationSeconds, u.opts.Now(), u.nodeOwner(ctx, node))
			l, err = leases.Create(ctx, l, metav1.CreateOptions{})
			u.keepLease(node, l, err)
			return err
		}
		if err != nil {
			return err
		}
		l := cur.DeepCopy()
		var owner *metav1.OwnerReference
		if len(l.OwnerReferences) == 0 {
			owner = u.nodeOwner(ctx, node)
		}
		renewed(l, node, r.DurationSeconds, u.opts.Now(), owner)
		l, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		u.keepLease(node, l, err)
		return err
	})
	if err != nil {
		u.log.Info("lease not renewed", "node", node, "err", err)
	}
}

// currentLease is the last Lease written for node, else the apiserver's.
func (u *upstream) currentLease(ctx context.Context, node string) (*coordinationv1.Lease, error) {
	u.leaseMu.Lock()
	l := u.leases[node]
	u.leaseMu.Unlock()
	if l != nil {
		return l, nil
	}
	return u.opts.Client.CoordinationV1().Leases(kubemsg.LeaseNamespace).Get(ctx, node, metav1.GetOptions{})
}

// keepLease remembers l, the result of writing node's Lease, or forgets
// the Lease when the write failed.
func (u *upstream) keepLease(node string, l *coordinationv1.Lease, err error) {
	u.leaseMu.Lock()
	defer u.leaseMu.Unlock()
	if err != nil {
		delete(u.leases, node)
		return
	}
	u.leases[node] = l
}

// nodeOwner is the owner reference a node's Lease carries, or nil when the
// Node is not known.
func (u *upstream) nodeOwner(ctx context.Context, name string) *metav1.OwnerReference {
	n, err := u.getNode(ctx, name)
	if err != nil {
		return nil
	}
	return &metav1.OwnerReference{
		APIVersion: corev1.SchemeGroupVersion.String(),
		Kind:       "Node",
		Name:       n.Name,
		UID:        n.UID,
	}
}

// renewed sets l's spec for node's renewal at now, and its owner when
// owner is not nil.
func renewed(l *coordinationv1.Lease, node string, durationSeconds int32, now time.Time, owner *metav1.OwnerReference) {
	l.Spec.HolderIdentity = &node
	l.Spec.LeaseDurationSeconds = &durationSeconds
	l.Spec.RenewTime = &metav1.MicroTime{Time: now}
	if owner != nil {
		l.OwnerReferences = []metav1.OwnerReference{*owner}
	}
}
