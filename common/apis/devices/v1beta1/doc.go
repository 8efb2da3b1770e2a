// Package v1beta1 holds the Go types of the devices.kubeedge.io/v1beta1 API:
// Device and DeviceModel, both namespaced custom resources whose CRDs are
// build/crds/devices.kubeedge.io_devices.yaml and
// build/crds/devices.kubeedge.io_devicemodels.yaml.
//
// The JSON names and shapes are KubeEdge's, so a manifest written for
// KubeEdge applies unchanged and decodes into these types. The free-form
// parts (a protocol's configData, a model's protocolConfigData, a pushMethod's
// dbMethod and anomalyDetection) are CustomizedValue: any JSON object, kept
// as it was written.
//
// A Device's spec is the user's: what the device is (its model), where it
// runs (spec.nodeName, a selectable field: list one node's devices with the
// field selector "spec.nodeName=<node>") and the desired value of each
// property. Its status is written only through the status subresource, by
// the cloud, from what the edge reports: each property's reported value
// (metadata "timestamp" in ms since the epoch and "type"), the desired value
// the edge last saw, the device state and when it was last online.
//
// Values are plain data: every type has a generated DeepCopy, and Device,
// DeviceList, DeviceModel and DeviceModelList are runtime.Objects that
// AddToScheme registers. Nothing here talks to an apiserver; package
// common/apis/devices/client does.
//
// +k8s:deepcopy-gen=package
// +groupName=devices.kubeedge.io
package v1beta1
