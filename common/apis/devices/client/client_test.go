package client

import (
	"context"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
)

func newFake(t *testing.T) *dynamicfake.FakeDynamicClient {
	t.Helper()
	// The scheme stays empty: the fake then keeps unstructured objects, as
	// an apiserver's answers are.
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		v1beta1.DevicesGVR:      "DeviceList",
		v1beta1.DeviceModelsGVR: "DeviceModelList",
	})
}

func device(name, node string) *v1beta1.Device {
	return &v1beta1.Device{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1beta1.DeviceSpec{
			DeviceModelRef: &corev1.LocalObjectReference{Name: "thermo-model"},
			NodeName:       node,
			Protocol: v1beta1.ProtocolConfig{ProtocolName: "modbus",
				ConfigData: &v1beta1.CustomizedValue{Data: map[string]any{"slaveID": int64(1), "ports": []any{"a"}}}},
			Properties: []v1beta1.DeviceProperty{{Name: "heater", Desired: v1beta1.TwinProperty{Value: "false"}}},
		},
	}
}

func TestDeviceRoundTrip(t *testing.T) {
	ctx := context.Background()
	dyn := newFake(t)
	var sent *unstructured.Unstructured
	dyn.PrependReactor("create", "devices", func(a clienttesting.Action) (bool, runtime.Object, error) {
		sent = a.(clienttesting.CreateAction).GetObject().(*unstructured.Unstructured)
		return false, nil, nil
	})
	devs := New(dyn).Devices("default")

	want := device("thermo-1", "edge-1")
	created, err := devs.Create(ctx, want, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if sent.GetAPIVersion() != "devices.kubeedge.io/v1beta1" || sent.GetKind() != "Device" {
		t.Errorf("sent apiVersion %q kind %q", sent.GetAPIVersion(), sent.GetKind())
	}
	if got, _, _ := unstructured.NestedInt64(sent.Object, "spec", "protocol", "configData", "slaveID"); got != 1 {
		t.Errorf("sent configData.slaveID %v, want 1", got)
	}
	if !reflect.DeepEqual(created.Spec, want.Spec) {
		t.Errorf("created spec %+v, want %+v", created.Spec, want.Spec)
	}

	got, err := devs.Get(ctx, "thermo-1", metav1.GetOptions{})
	if err != nil || !reflect.DeepEqual(got.Spec, want.Spec) || got.Kind != "Device" {
		t.Fatalf("get: %+v, %v", got, err)
	}

	got.Spec.Properties[0].Desired.Value = "true"
	if _, err := devs.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update: %v", err)
	}
	got.Status = v1beta1.DeviceStatus{State: "online", Twins: []v1beta1.Twin{{PropertyName: "heater",
		Reported: v1beta1.TwinProperty{Value: "true", Metadata: map[string]string{v1beta1.TwinMetadataType: "boolean"}}}}}
	if _, err := devs.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update status: %v", err)
	}
	if _, err := devs.Create(ctx, device("thermo-2", "edge-2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	list, err := devs.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	first := list.Items[0]
	if first.Name != "thermo-1" || first.Spec.Properties[0].Desired.Value != "true" ||
		!reflect.DeepEqual(first.Status, got.Status) {
		t.Errorf("listed %+v", first)
	}

	if err := devs.Delete(ctx, "thermo-1", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := devs.Get(ctx, "thermo-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after delete: %v, want NotFound", err)
	}
}

func TestDeviceModelRoundTrip(t *testing.T) {
	ctx := context.Background()
	models := New(newFake(t)).DeviceModels("default")
	want := &v1beta1.DeviceModel{
		ObjectMeta: metav1.ObjectMeta{Name: "thermo-model", Namespace: "default"},
		Spec: v1beta1.DeviceModelSpec{Protocol: "modbus", Properties: []v1beta1.ModelProperty{
			{Name: "temperature", Type: v1beta1.PropertyTypeFloat, AccessMode: v1beta1.ReadOnly, Unit: "celsius"}}},
	}
	if _, err := models.Create(ctx, want, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	want.Spec.Properties[0].Maximum = "100"
	if _, err := models.Update(ctx, want, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update: %v", err)
	}
	got, err := models.Get(ctx, "thermo-model", metav1.GetOptions{})
	if err != nil || !reflect.DeepEqual(got.Spec, want.Spec) {
		t.Fatalf("get: %+v, %v", got, err)
	}
	list, err := models.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 || list.Items[0].Spec.Properties[0].Maximum != "100" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if err := models.Delete(ctx, "thermo-model", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := models.Delete(ctx, "thermo-model", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("second delete: %v, want NotFound", err)
	}
}

// TestErrorsUnchanged: what the apiserver answers comes back as it is.
func TestErrorsUnchanged(t *testing.T) {
	ctx := context.Background()
	dyn := newFake(t)
	conflict := apierrors.NewConflict(v1beta1.DevicesGVR.GroupResource(), "thermo-1", nil)
	dyn.PrependReactor("update", "devices", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, conflict
	})
	devs := New(dyn).Devices("default")
	for name, call := range map[string]func() error{
		"update": func() error {
			_, err := devs.Update(ctx, device("thermo-1", "edge-1"), metav1.UpdateOptions{})
			return err
		},
		"update status": func() error {
			_, err := devs.UpdateStatus(ctx, device("thermo-1", "edge-1"), metav1.UpdateOptions{})
			return err
		},
	} {
		if err := call(); err != conflict || !apierrors.IsConflict(err) {
			t.Errorf("%s: %v, want the apiserver's Conflict unchanged", name, err)
		}
	}
}

// TestConversionError: an object that does not fit the types is an error
// naming the step, not a half-filled object.
func TestConversionError(t *testing.T) {
	dyn := newFake(t)
	bad := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "devices.kubeedge.io/v1beta1", "kind": "Device",
		"metadata": map[string]any{"name": "bad", "namespace": "default"},
		"spec":     map[string]any{"nodeName": int64(5)},
	}}
	dyn.PrependReactor("get", "devices", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, bad, nil
	})
	got, err := New(dyn).Devices("default").Get(context.Background(), "bad", metav1.GetOptions{})
	if err == nil || got != nil || !strings.Contains(err.Error(), "convert unstructured to *v1beta1.Device") {
		t.Errorf("get: %+v, %v; want a conversion error", got, err)
	}
}

func TestWatchTypedEvents(t *testing.T) {
	dyn := newFake(t)
	fw := watch.NewFakeWithChanSize(4, false)
	dyn.PrependWatchReactor("devices", func(clienttesting.Action) (bool, watch.Interface, error) {
		return true, fw, nil
	})
	w, err := New(dyn).Devices("").Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	good, err := toUnstructured(device("thermo-1", "edge-1"), v1beta1.DeviceKind)
	if err != nil {
		t.Fatal(err)
	}
	bad := good.DeepCopy()
	bad.Object["spec"] = "not an object"
	status := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": "Expired", "code": int64(410), "message": "too old",
	}}
	fw.Add(good)
	fw.Modify(bad)
	fw.Error(status)

	ev := <-w.ResultChan()
	if dev, ok := ev.Object.(*v1beta1.Device); ev.Type != watch.Added || !ok || dev.Spec.NodeName != "edge-1" {
		t.Errorf("first event %v %#v, want Added *v1beta1.Device", ev.Type, ev.Object)
	}
	ev = <-w.ResultChan()
	if st, ok := ev.Object.(*metav1.Status); ev.Type != watch.Error || !ok || !strings.Contains(st.Message, "convert") {
		t.Errorf("second event %v %#v, want Error with a conversion Status", ev.Type, ev.Object)
	}
	ev = <-w.ResultChan()
	if st, ok := ev.Object.(*metav1.Status); ev.Type != watch.Error || !ok || st.Code != 410 || st.Reason != metav1.StatusReasonExpired {
		t.Errorf("third event %v %#v, want the apiserver's Status", ev.Type, ev.Object)
	}
}
