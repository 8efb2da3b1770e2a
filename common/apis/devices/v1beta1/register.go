package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of Device and DeviceModel, KubeEdge's.
const GroupName = "devices.kubeedge.io"

// Kinds and the field a Device list may be selected by.
const (
	DeviceKind      = "Device"
	DeviceModelKind = "DeviceModel"
	// NodeNameField is the CRD's selectable field spec.nodeName:
	// fields.OneTermEqualSelector(NodeNameField, node) lists one node's devices.
	NodeNameField = "spec.nodeName"
)

// SchemeGroupVersion is devices.kubeedge.io/v1beta1.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1beta1"}

// The resources, for dynamic clients and informers.
var (
	DevicesGVR      = SchemeGroupVersion.WithResource("devices")
	DeviceModelsGVR = SchemeGroupVersion.WithResource("devicemodels")
)

// AddToScheme registers Device, DeviceList, DeviceModel and DeviceModelList
// (and the meta/v1 options types) in s under SchemeGroupVersion.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &Device{}, &DeviceList{}, &DeviceModel{}, &DeviceModelList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}
