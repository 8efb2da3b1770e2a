package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// DeviceModel is a kind of device: its properties and protocol, with
// defaults that Devices of the model may override.
type DeviceModel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec DeviceModelSpec `json:"spec,omitzero"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// DeviceModelList is a list of DeviceModels.
type DeviceModelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []DeviceModel `json:"items"`
}

// DeviceModelSpec describes the properties and protocol of a kind of device.
type DeviceModelSpec struct {
	// Properties are the model's properties, unique by name.
	Properties []ModelProperty `json:"properties,omitempty"`
	// Protocol is the protocol devices of the model speak.
	Protocol string `json:"protocol,omitempty"`
	// ProtocolConfigData is the default protocol settings, free-form.
	ProtocolConfigData *CustomizedValue `json:"protocolConfigData,omitempty"`
}

// ModelProperty is one property of a device model, such as temperature.
type ModelProperty struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Type is the type of the property's values.
	Type PropertyType `json:"type,omitempty"`
	// AccessMode says whether the cloud may set the property.
	AccessMode PropertyAccessMode `json:"accessMode,omitempty"`
	// Minimum, Maximum and Unit describe the values, as text.
	Minimum string `json:"minimum,omitempty"`
	Maximum string `json:"maximum,omitempty"`
	Unit    string `json:"unit,omitempty"`
	// Visitors are the default access settings; a Device's own override them.
	Visitors *VisitorConfig `json:"visitors,omitempty"`
}

// PropertyType is the type of a property's values; the CRD allows only the
// constants below.
type PropertyType string

// The property types.
const (
	PropertyTypeInt     PropertyType = "INT"
	PropertyTypeFloat   PropertyType = "FLOAT"
	PropertyTypeDouble  PropertyType = "DOUBLE"
	PropertyTypeString  PropertyType = "STRING"
	PropertyTypeBoolean PropertyType = "BOOLEAN"
	PropertyTypeBytes   PropertyType = "BYTES"
	PropertyTypeStream  PropertyType = "STREAM"
)

// PropertyAccessMode says whether a property can be written; the CRD allows
// only ReadWrite and ReadOnly.
type PropertyAccessMode string

// The access modes.
const (
	ReadWrite PropertyAccessMode = "ReadWrite"
	ReadOnly  PropertyAccessMode = "ReadOnly"
)
