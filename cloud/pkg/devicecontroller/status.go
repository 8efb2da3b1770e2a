package devicecontroller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/common/devicemsg"
)

// writeStatus writes an authorized report to the Device's status
// subresource: read fresh, merge, write; again on a conflict. A Device
// that changed meanwhile (another uid, another node) is left alone, and
// nothing is written when nothing would change.
func (u *upstream) writeStatus(ctx context.Context, sr statusReport) error {
	devs := u.opts.Client.Devices(sr.device.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := devs.Get(ctx, sr.device.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get device: %w", err)
		}
		if d.UID != sr.report.UID || d.Spec.NodeName != sr.node {
			u.log.Info("device changed before its status was written; dropped", "device", sr.device, "node", sr.node)
			return nil
		}
		st, changed := mergeStatus(d, sr.report)
		if !changed {
			return nil
		}
		d.Status = st
		if _, err := devs.UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update device status: %w", err)
		}
		return nil
	})
}

// mergeStatus is d's status with the report applied: the twins of the
// properties d's spec declares (the first of each name, in the report's
// order), the state and the last online time. changed is false when the
// result equals d's status.
func mergeStatus(d *v1beta1.Device, r devicemsg.DeviceStatusReport) (st v1beta1.DeviceStatus, changed bool) {
	declared := map[string]bool{}
	for _, p := range d.Spec.Properties {
		declared[p.Name] = true
	}
	seen := map[string]bool{}
	for _, tw := range r.Twins {
		if !declared[tw.PropertyName] || seen[tw.PropertyName] {
			continue
		}
		seen[tw.PropertyName] = true
		st.Twins = append(st.Twins, normalTwin(tw))
	}
	st.State, st.LastOnlineTime = r.State, r.LastOnlineTime
	return st, !equality.Semantic.DeepEqual(st, normalStatus(d.Status))
}

// normalStatus drops the empty slices and maps a round trip through the
// apiserver would drop, so equal statuses compare equal.
func normalStatus(s v1beta1.DeviceStatus) v1beta1.DeviceStatus {
	var twins []v1beta1.Twin
	for _, tw := range s.Twins {
		twins = append(twins, normalTwin(tw))
	}
	s.Twins = twins
	return s
}

func normalTwin(tw v1beta1.Twin) v1beta1.Twin {
	if len(tw.Reported.Metadata) == 0 {
		tw.Reported.Metadata = nil
	}
	if len(tw.ObservedDesired.Metadata) == 0 {
		tw.ObservedDesired.Metadata = nil
	}
	return tw
}
