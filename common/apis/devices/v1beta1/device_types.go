package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Device is one device instance: which model it is, which node serves it,
// how to reach it and what its properties should be (spec), and what the
// edge last reported (status).
type Device struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DeviceSpec   `json:"spec,omitzero"`
	Status DeviceStatus `json:"status,omitzero"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// DeviceList is a list of Devices.
type DeviceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []Device `json:"items"`
}

// DeviceSpec is what the user asks of a device.
type DeviceSpec struct {
	// DeviceModelRef names the DeviceModel (same namespace) this device is
	// an instance of.
	DeviceModelRef *corev1.LocalObjectReference `json:"deviceModelRef,omitempty"`
	// NodeName is the edge node that serves the device; empty: none yet.
	NodeName string `json:"nodeName,omitempty"`
	// Properties are the device's properties, unique by name.
	Properties []DeviceProperty `json:"properties,omitempty"`
	// Protocol says how the mapper reaches the device.
	Protocol ProtocolConfig `json:"protocol,omitzero"`
	// Methods are the device's methods, unique by name.
	Methods []DeviceMethod `json:"methods,omitempty"`
	// StateReport says whether and how often the device state is reported.
	StateReport *StateReport `json:"stateReport,omitempty"`
}

// DeviceProperty is one property of a device instance.
type DeviceProperty struct {
	// Name names a property of the device's model.
	Name string `json:"name,omitempty"`
	// Desired is the value the cloud wants the property to have.
	Desired TwinProperty `json:"desired,omitzero"`
	// Visitors say how the mapper reads and writes this property.
	Visitors VisitorConfig `json:"visitors,omitzero"`
	// ReportCycle is how often, in milliseconds, the mapper reports the value.
	ReportCycle int64 `json:"reportCycle,omitempty"`
	// CollectCycle is how often, in milliseconds, the mapper reads the device.
	CollectCycle int64 `json:"collectCycle,omitempty"`
	// ReportToCloud says whether reported values go to the cloud.
	ReportToCloud bool `json:"reportToCloud,omitempty"`
	// PushMethod is where the mapper also pushes the value; nil: nowhere.
	PushMethod *PushMethod `json:"pushMethod,omitempty"`
}

// TwinProperty is a property value with its metadata (TwinMetadataTimestamp,
// TwinMetadataType).
type TwinProperty struct {
	// Value is the value as text.
	Value string `json:"value"`
	// Metadata is extra information about the value.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Keys of TwinProperty.Metadata.
const (
	// TwinMetadataTimestamp: when the value was produced, in milliseconds
	// since the epoch, decimal.
	TwinMetadataTimestamp = "timestamp"
	// TwinMetadataType: the value's type as the edge reported it (e.g.
	// "float", "string").
	TwinMetadataType = "type"
)

// ProtocolConfig names the protocol a device speaks and its settings.
type ProtocolConfig struct {
	// ProtocolName is the protocol, e.g. "modbus".
	ProtocolName string `json:"protocolName,omitempty"`
	// ConfigData is the protocol's settings, free-form.
	ConfigData *CustomizedValue `json:"configData,omitempty"`
}

// VisitorConfig says how a mapper accesses one property.
type VisitorConfig struct {
	// ProtocolName is the protocol the settings are for.
	ProtocolName string `json:"protocolName,omitempty"`
	// ConfigData is the access settings (register, offset, ...), free-form.
	ConfigData *CustomizedValue `json:"configData,omitempty"`
}

// PushMethod is where a mapper pushes a property's values besides the
// cloud. Tether only carries it to the edge; the database and anomaly
// detection settings stay free-form.
type PushMethod struct {
	HTTP *PushMethodHTTP `json:"http,omitempty"`
	MQTT *PushMethodMQTT `json:"mqtt,omitempty"`
	OTEL *PushMethodOTEL `json:"otel,omitempty"`
	// DBMethod is KubeEdge's database settings (influxdb2, redis,
	// TDEngine, mysql, Kwdb), free-form.
	DBMethod *CustomizedValue `json:"dbMethod,omitempty"`
	// AnomalyDetection is free-form.
	AnomalyDetection *CustomizedValue `json:"anomalyDetection,omitempty"`
}

// PushMethodHTTP pushes values to an HTTP endpoint.
type PushMethodHTTP struct {
	HostName    string `json:"hostName,omitempty"`
	Port        int64  `json:"port,omitempty"`
	RequestPath string `json:"requestPath,omitempty"`
	// Timeout is in milliseconds.
	Timeout int64 `json:"timeout,omitempty"`
}

// PushMethodMQTT publishes values to an MQTT broker.
type PushMethodMQTT struct {
	// Address is the broker, e.g. mqtt://127.0.0.1:1883.
	Address  string `json:"address,omitempty"`
	Topic    string `json:"topic,omitempty"`
	QoS      int32  `json:"qos,omitempty"`
	Retained bool   `json:"retained,omitempty"`
}

// PushMethodOTEL exports values as OpenTelemetry metrics.
type PushMethodOTEL struct {
	// EndpointURL is the exporter's target, e.g.
	// https://localhost:4318/v1/metrics.
	EndpointURL string `json:"endpointURL,omitempty"`
}

// DeviceMethod is a named operation on a device over some properties.
type DeviceMethod struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// PropertyNames are the properties the method controls.
	PropertyNames []string `json:"propertyNames,omitempty"`
}

// StateReport says whether and how often the device state is reported.
type StateReport struct {
	ReportToCloud bool `json:"reportToCloud,omitempty"`
	// ReportCycle is in milliseconds.
	ReportCycle int64 `json:"reportCycle,omitempty"`
}

// DeviceStatus is what the edge last reported about a device.
type DeviceStatus struct {
	// Twins hold each property's reported value and the desired value the
	// edge last saw, one per property name.
	Twins []Twin `json:"twins,omitempty"`
	// State is the device state the mapper reported, e.g. "online".
	State string `json:"state,omitempty"`
	// LastOnlineTime is when the device was last online, as the edge
	// reported it.
	LastOnlineTime string `json:"lastOnlineTime,omitempty"`
}

// Twin is one property's reported value and the desired value the edge has
// acted on.
type Twin struct {
	PropertyName string `json:"propertyName,omitempty"`
	// Reported is the value the device last reported.
	Reported TwinProperty `json:"reported,omitzero"`
	// ObservedDesired is the desired value the edge last received.
	ObservedDesired TwinProperty `json:"observedDesired,omitzero"`
}
