package main

import (
	"testing"

	"github.com/tether-edge/tether/tests/testenv"
)

// The embedded manifest decodes strictly into REFERENCE.md's sample, with
// the Device on the given node, and demoDevice names that Device.
func TestDemoObjects(t *testing.T) {
	model, dev, err := demoObjects("edge-9")
	if err != nil {
		t.Fatal(err)
	}
	if got := dev.Namespace + "/" + dev.Name; got != demoDevice {
		t.Errorf("Device %s, demoDevice says %s", got, demoDevice)
	}
	if dev.Spec.NodeName != "edge-9" {
		t.Errorf("nodeName %q, want edge-9", dev.Spec.NodeName)
	}
	if dev.Spec.DeviceModelRef == nil || dev.Spec.DeviceModelRef.Name != model.Name || dev.Namespace != model.Namespace {
		t.Errorf("Device %s/%s references %+v, want its model %s/%s", dev.Namespace, dev.Name, dev.Spec.DeviceModelRef, model.Namespace, model.Name)
	}
	var props []string
	for _, p := range model.Spec.Properties {
		props = append(props, p.Name+":"+string(p.Type))
	}
	if len(props) != 2 || props[0] != "temperature:FLOAT" || props[1] != "heater:BOOLEAN" {
		t.Errorf("model properties %v, want temperature:FLOAT heater:BOOLEAN", props)
	}
	if len(dev.Spec.Properties) != 2 || dev.Spec.Properties[1].Desired.Value != "false" {
		t.Errorf("device properties %+v", dev.Spec.Properties)
	}
}

// The demo Deployment decodes strictly, runs the locally built image without
// pulling it, and is placed on edge nodes by the role label they carry.
func TestDemoApp(t *testing.T) {
	d, err := demoApp()
	if err != nil {
		t.Fatal(err)
	}
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 || spec.Containers[0].Image != testenv.BusyboxImage || spec.Containers[0].ImagePullPolicy != "Never" {
		t.Errorf("containers %+v, want one running %s with imagePullPolicy Never", spec.Containers, testenv.BusyboxImage)
	}
	if v, ok := spec.NodeSelector["node-role.kubernetes.io/edge"]; !ok || v != "" {
		t.Errorf("nodeSelector %v, want node-role.kubernetes.io/edge: \"\"", spec.NodeSelector)
	}
	if d.Spec.Selector == nil || d.Spec.Selector.MatchLabels["app"] != d.Spec.Template.Labels["app"] {
		t.Errorf("selector %v does not match the template's labels %v", d.Spec.Selector, d.Spec.Template.Labels)
	}
}
