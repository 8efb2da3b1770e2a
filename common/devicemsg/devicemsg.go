package devicemsg

import (
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
)

// Group is the cloud group upstream device messages name in Route.Group;
// DeviceController is its module.
const Group = "devicecontroller"

// Resource types.
const (
	TypeDevice       = "device"
	TypeDeviceModel  = "devicemodel"
	TypeDeviceStatus = "devicestatus"
)

// DeviceStatusReport is the latest full status of one device as the edge
// sees it; the cloud writes it to the Device's status.
type DeviceStatusReport struct {
	// UID is the Device's metadata.uid: a report for an earlier device of
	// the same name is refused.
	UID types.UID `json:"uid"`
	// Twins are the reported value and the observed desired value of each
	// property.
	Twins []v1beta1.Twin `json:"twins,omitempty"`
	// State is the device state the mapper reported, e.g. "online".
	State string `json:"state,omitempty"`
	// LastOnlineTime is when the device was last online, as the edge
	// formats it.
	LastOnlineTime string `json:"lastOnlineTime,omitempty"`
}
