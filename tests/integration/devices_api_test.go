package integration

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/tether-edge/tether/common/apis/devices/client"
	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/tests/testenv"
)

// deviceManifests holds the KubeEdge manifests the API types are tested with.
const deviceManifests = "../../common/apis/devices/v1beta1/testdata/"

// TestDevicesAPI runs the Device API against the real kube-apiserver with
// build/crds installed: KubeEdge manifests apply and read back intact, the
// status subresource and its conflicts, the spec.nodeName field selector,
// and schema validation.
func TestDevicesAPI(t *testing.T) {
	t.Parallel()
	c, dyn := startDevicesAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("manifests", func(t *testing.T) {
		for _, file := range []string{"reference-sample.yaml", "kubeedge-full.yaml"} {
			for _, doc := range readManifests(t, deviceManifests+file) {
				applyAndReadBack(ctx, t, c, dyn, file, doc)
			}
		}
	})
	t.Run("status", func(t *testing.T) { testDeviceStatus(ctx, t, c) })
	t.Run("field selector", func(t *testing.T) { testNodeSelector(ctx, t, c) })
	t.Run("validation", func(t *testing.T) { testDeviceValidation(ctx, t, c) })
}

// startDevicesAPI starts etcd and kube-apiserver with build/crds installed
// and namespace default in place, and returns the typed and dynamic
// clients.
func startDevicesAPI(t *testing.T) (*client.Client, dynamic.Interface) {
	t.Helper()
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	kube.InstallCRDs(t, testenv.DeviceCRDs()...)
	dyn, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	kube.WaitDefaultNamespace(t)
	return client.New(dyn), dyn
}

// readManifests returns the JSON of each YAML document in file.
func readManifests(t *testing.T, file string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := v1beta1.SplitManifest(data)
	if err != nil || len(docs) == 0 {
		t.Fatalf("%s: %d manifests, %v", file, len(docs), err)
	}
	return docs
}

// applyAndReadBack creates the manifest doc through the typed client and
// checks that the stored spec equals the manifest's, both as the apiserver
// keeps it (nothing pruned or renamed) and through the typed client.
func applyAndReadBack(ctx context.Context, t *testing.T, c *client.Client, dyn dynamic.Interface, file string, doc []byte) {
	t.Helper()
	var manifest map[string]any
	if err := json.Unmarshal(doc, &manifest); err != nil {
		t.Fatal(err)
	}
	kind, _ := manifest["kind"].(string)
	var typedSpec, gotSpec any
	var raw map[string]any
	switch kind {
	case v1beta1.DeviceKind:
		var dev v1beta1.Device
		mustUnmarshalStrict(t, doc, &dev)
		created, err := c.Devices(dev.Namespace).Create(ctx, &dev, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("%s: create Device %s: %v", file, dev.Name, err)
		}
		got, err := c.Devices(dev.Namespace).Get(ctx, dev.Name, metav1.GetOptions{})
		if err != nil || got.UID != created.UID {
			t.Fatalf("%s: get Device %s: %v", file, dev.Name, err)
		}
		typedSpec, gotSpec = dev.Spec, got.Spec
		u, err := dyn.Resource(v1beta1.DevicesGVR).Namespace(dev.Namespace).Get(ctx, dev.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		raw = u.Object
	case v1beta1.DeviceModelKind:
		var model v1beta1.DeviceModel
		mustUnmarshalStrict(t, doc, &model)
		if _, err := c.DeviceModels(model.Namespace).Create(ctx, &model, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s: create DeviceModel %s: %v", file, model.Name, err)
		}
		got, err := c.DeviceModels(model.Namespace).Get(ctx, model.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: get DeviceModel %s: %v", file, model.Name, err)
		}
		typedSpec, gotSpec = model.Spec, got.Spec
		u, err := dyn.Resource(v1beta1.DeviceModelsGVR).Namespace(model.Namespace).Get(ctx, model.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		raw = u.Object
	default:
		t.Fatalf("%s: unexpected kind %q", file, kind)
	}
	if !reflect.DeepEqual(gotSpec, typedSpec) {
		t.Errorf("%s %s: typed spec read back as\n%s\nwant\n%s", file, kind, asJSON(t, gotSpec), asJSON(t, typedSpec))
	}
	if got, want := asJSON(t, raw["spec"]), asJSON(t, manifest["spec"]); got != want {
		t.Errorf("%s %s: stored spec\n%s\nwant the manifest's\n%s", file, kind, got, want)
	}
}

func mustUnmarshalStrict(t *testing.T, doc []byte, obj any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("decode %s: %v", doc, err)
	}
}

// asJSON encodes v canonically (sorted keys, numbers as JSON numbers) for
// comparing a stored object with a manifest.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var norm any
	if err := json.Unmarshal(b, &norm); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(norm)
	return string(b)
}

// testDeviceStatus writes thermo-1's status through the subresource, and
// checks that the spec is not touched and a stale write conflicts.
func testDeviceStatus(ctx context.Context, t *testing.T, c *client.Client) {
	devs := c.Devices("default")
	dev, err := devs.Get(ctx, "thermo-1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get thermo-1 (from the sample manifest): %v", err)
	}
	stale := dev.DeepCopy()
	wantSpec := dev.Spec
	status := v1beta1.DeviceStatus{
		Twins: []v1beta1.Twin{{
			PropertyName: "temperature",
			Reported: v1beta1.TwinProperty{Value: "21.5", Metadata: map[string]string{
				v1beta1.TwinMetadataTimestamp: "1700000000000", v1beta1.TwinMetadataType: "float"}},
		}, {
			PropertyName:    "heater",
			Reported:        v1beta1.TwinProperty{Value: "false"},
			ObservedDesired: v1beta1.TwinProperty{Value: "false", Metadata: map[string]string{v1beta1.TwinMetadataType: "boolean"}},
		}},
		State:          "online",
		LastOnlineTime: "2024-05-01T10:00:00Z",
	}
	dev.Status = status
	dev.Spec.NodeName = "elsewhere" // the status subresource ignores the spec
	updated, err := devs.UpdateStatus(ctx, dev, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update status: %v", err)
	}
	got, err := devs.Get(ctx, "thermo-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Status, status) {
		t.Errorf("status read back as %+v, want %+v", got.Status, status)
	}
	if !reflect.DeepEqual(got.Spec, wantSpec) {
		t.Errorf("UpdateStatus changed the spec: %+v, want %+v", got.Spec, wantSpec)
	}
	if got.ResourceVersion != updated.ResourceVersion {
		t.Errorf("resourceVersion %s, UpdateStatus returned %s", got.ResourceVersion, updated.ResourceVersion)
	}

	stale.Status.State = "offline"
	if _, err := devs.UpdateStatus(ctx, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("status update with a stale resourceVersion: %v, want Conflict", err)
	}
	stale.Spec.NodeName = "edge-9"
	if _, err := devs.Update(ctx, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("update with a stale resourceVersion: %v, want Conflict", err)
	}
}

// testNodeSelector lists and watches one node's devices with the
// spec.nodeName field selector, across namespaces.
func testNodeSelector(ctx context.Context, t *testing.T, c *client.Client) {
	onEdge1 := fields.OneTermEqualSelector(v1beta1.NodeNameField, "edge-1").String()
	if _, err := c.Devices("default").Create(ctx, newDevice("thermo-2", "edge-1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	list, err := c.Devices("").List(ctx, metav1.ListOptions{FieldSelector: onEdge1})
	if err != nil {
		t.Fatalf("list with field selector %s: %v", onEdge1, err)
	}
	var names []string
	for _, d := range list.Items {
		names = append(names, d.Name)
	}
	slices.Sort(names)
	// modbus-1 (edge-2) from the full manifest must not be listed.
	if want := []string{"thermo-1", "thermo-2"}; !slices.Equal(names, want) {
		t.Errorf("devices on edge-1: %v, want %v", names, want)
	}

	w, err := c.Devices("").Watch(ctx, metav1.ListOptions{FieldSelector: onEdge1, ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()
	// Created first, so a watch that did not filter would see it first.
	if _, err := c.Devices("default").Create(ctx, newDevice("other-node", "edge-3"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Devices("default").Create(ctx, newDevice("thermo-3", "edge-1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		dev, ok := ev.Object.(*v1beta1.Device)
		if ev.Type != watch.Added || !ok || dev.Name != "thermo-3" {
			t.Errorf("first event %s %#v, want thermo-3 Added", ev.Type, ev.Object)
		}
	case <-ctx.Done():
		t.Fatal("no watch event for thermo-3")
	}
}

func newDevice(name, node string) *v1beta1.Device {
	return &v1beta1.Device{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1beta1.DeviceSpec{
			DeviceModelRef: &corev1.LocalObjectReference{Name: "thermo-model"},
			NodeName:       node,
		},
	}
}

// testDeviceValidation: values outside the CRD's enums are refused with an
// Invalid error that names the field.
func testDeviceValidation(ctx context.Context, t *testing.T, c *client.Client) {
	tests := []struct {
		name  string
		prop  v1beta1.ModelProperty
		field string
	}{
		{"property type", v1beta1.ModelProperty{Name: "p", Type: "COMPLEX", AccessMode: v1beta1.ReadOnly}, "spec.properties[0].type"},
		{"access mode", v1beta1.ModelProperty{Name: "p", Type: v1beta1.PropertyTypeInt, AccessMode: "WriteOnly"}, "spec.properties[0].accessMode"},
	}
	for i, tt := range tests {
		model := &v1beta1.DeviceModel{
			ObjectMeta: metav1.ObjectMeta{Name: "invalid-" + string(rune('a'+i)), Namespace: "default"},
			Spec:       v1beta1.DeviceModelSpec{Protocol: "modbus", Properties: []v1beta1.ModelProperty{tt.prop}},
		}
		_, err := c.DeviceModels("default").Create(ctx, model, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: create: %v; want Invalid naming %s", tt.name, err, tt.field)
		}
	}
}
