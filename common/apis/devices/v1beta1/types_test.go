package v1beta1

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// manifests splits a multi-document YAML file of testdata into JSON
// documents.
func manifests(t *testing.T, name string) [][]byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := SplitManifest(data)
	if err != nil || len(docs) == 0 {
		t.Fatalf("%s: %d documents, %v", name, len(docs), err)
	}
	return docs
}

// decodeStrict decodes a manifest into a Device or DeviceModel by its kind,
// failing on any field the types do not have.
func decodeStrict(t *testing.T, doc []byte) runtime.Object {
	t.Helper()
	var tm struct{ Kind string }
	if err := json.Unmarshal(doc, &tm); err != nil {
		t.Fatal(err)
	}
	var obj runtime.Object
	switch tm.Kind {
	case DeviceKind:
		obj = &Device{}
	case DeviceModelKind:
		obj = &DeviceModel{}
	default:
		t.Fatalf("unexpected kind %q", tm.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("decode %s strictly: %v", tm.Kind, err)
	}
	return obj
}

// jsonValue decodes b for comparison: numbers as float64, as in JSON.
func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestManifestsRoundTrip decodes KubeEdge manifests strictly (every JSON name
// must be one the types know) and encodes them back to the same JSON, through
// encoding/json and through the unstructured converter the client uses.
func TestManifestsRoundTrip(t *testing.T) {
	for _, file := range []string{"reference-sample.yaml", "kubeedge-full.yaml"} {
		for _, doc := range manifests(t, file) {
			obj := decodeStrict(t, doc)
			want := jsonValue(t, doc)

			out, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			if got := jsonValue(t, out); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: json round trip\n got %s\nwant %s", file, out, doc)
			}

			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
			if err != nil {
				t.Fatalf("%s: to unstructured: %v", file, err)
			}
			uj, _ := json.Marshal(u)
			if got := jsonValue(t, uj); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: unstructured\n got %s\nwant %s", file, uj, doc)
			}
			back := reflect.New(reflect.TypeOf(obj).Elem()).Interface()
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u, back); err != nil {
				t.Fatalf("%s: from unstructured: %v", file, err)
			}
			if !reflect.DeepEqual(back, obj) {
				t.Errorf("%s: from unstructured\n got %#v\nwant %#v", file, back, obj)
			}
		}
	}
}

func TestSampleDecodesToTypes(t *testing.T) {
	docs := manifests(t, "reference-sample.yaml")
	model := decodeStrict(t, docs[0]).(*DeviceModel)
	dev := decodeStrict(t, docs[1]).(*Device)

	wantModel := DeviceModelSpec{Protocol: "modbus", Properties: []ModelProperty{
		{Name: "temperature", Type: PropertyTypeFloat, AccessMode: ReadOnly, Unit: "celsius"},
		{Name: "heater", Type: PropertyTypeBoolean, AccessMode: ReadWrite},
	}}
	if !reflect.DeepEqual(model.Spec, wantModel) {
		t.Errorf("model spec %+v, want %+v", model.Spec, wantModel)
	}
	if dev.Spec.DeviceModelRef == nil || dev.Spec.DeviceModelRef.Name != "thermo-model" || dev.Spec.NodeName != "edge-1" {
		t.Errorf("device spec %+v", dev.Spec)
	}
	// Whole numbers in free-form data are int64, as in unstructured objects.
	if got := dev.Spec.Protocol.ConfigData.Data["slaveID"]; got != int64(1) {
		t.Errorf("configData.slaveID = %#v, want int64(1)", got)
	}
	p := dev.Spec.Properties
	if len(p) != 2 || p[0].ReportCycle != 10000 || p[0].CollectCycle != 5000 || !p[0].ReportToCloud ||
		p[1].Desired.Value != "false" {
		t.Errorf("properties %+v", p)
	}
}

func TestCustomizedValueJSON(t *testing.T) {
	tests := []struct {
		name, in, out string
		wantErr       bool
	}{
		{name: "object", in: `{"a":1,"b":[1.5,"x",{"c":null}]}`, out: `{"a":1,"b":[1.5,"x",{"c":null}]}`},
		{name: "empty", in: `{}`, out: `{}`},
		{name: "array", in: `[1]`, wantErr: true},
		{name: "string", in: `"x"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v CustomizedValue
			err := json.Unmarshal([]byte(tt.in), &v)
			if (err != nil) != tt.wantErr {
				t.Fatalf("unmarshal %s: err %v, want error %v", tt.in, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			out, err := json.Marshal(v)
			if err != nil || string(out) != tt.out {
				t.Errorf("marshal: %s, %v; want %s", out, err, tt.out)
			}
		})
	}
	if out, _ := json.Marshal(CustomizedValue{}); string(out) != "{}" {
		t.Errorf("nil Data encodes as %s, want {}", out)
	}
	v := CustomizedValue{Data: map[string]any{"k": "v"}}
	if err := json.Unmarshal([]byte("null"), &v); err != nil || v.Data["k"] != "v" {
		t.Errorf("null: %v, Data %v; want no error and Data unchanged", err, v.Data)
	}
}

func TestDeepCopySharesNothingMutable(t *testing.T) {
	docs := manifests(t, "kubeedge-full.yaml")
	dev := decodeStrict(t, docs[1]).(*Device)
	dev.Status.Twins = []Twin{{PropertyName: "temperature",
		Reported: TwinProperty{Value: "21", Metadata: map[string]string{TwinMetadataType: "float"}}}}
	cp := dev.DeepCopy()
	if !reflect.DeepEqual(cp, dev) {
		t.Fatal("copy differs from the original")
	}

	cfg := cp.Spec.Protocol.ConfigData.Data
	cfg["ip"] = "changed"
	cfg["tags"].([]any)[0] = "changed"
	cfg["nested"].(map[string]any)["enabled"] = false
	cp.Spec.Properties[0].Visitors.ConfigData.Data["offset"] = int64(9)
	cp.Spec.Properties[0].PushMethod.DBMethod.Data["influxdb2"] = nil
	cp.Spec.Properties[0].Desired.Metadata["type"] = "changed"
	cp.Spec.Methods[0].PropertyNames[0] = "changed"
	cp.Status.Twins[0].Reported.Metadata[TwinMetadataType] = "changed"

	orig := decodeStrict(t, docs[1]).(*Device)
	orig.Status = dev.Status
	if !reflect.DeepEqual(dev.Spec, orig.Spec) {
		t.Errorf("changing the copy changed the original spec")
	}
	if dev.Status.Twins[0].Reported.Metadata[TwinMetadataType] != "float" {
		t.Errorf("changing the copy changed the original status")
	}

	var nilValue *CustomizedValue
	if nilValue.DeepCopy() != nil {
		t.Error("DeepCopy of nil is not nil")
	}
}

func TestAddToScheme(t *testing.T) {
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for kind, obj := range map[string]runtime.Object{
		"Device": &Device{}, "DeviceList": &DeviceList{}, "DeviceModel": &DeviceModel{}, "DeviceModelList": &DeviceModelList{},
	} {
		gvks, _, err := s.ObjectKinds(obj)
		if err != nil || len(gvks) != 1 || gvks[0] != SchemeGroupVersion.WithKind(kind) {
			t.Errorf("%s: kinds %v, %v", kind, gvks, err)
		}
	}
	if DevicesGVR.String() != "devices.kubeedge.io/v1beta1, Resource=devices" ||
		DeviceModelsGVR.Resource != "devicemodels" {
		t.Errorf("GVRs %v %v", DevicesGVR, DeviceModelsGVR)
	}
}
