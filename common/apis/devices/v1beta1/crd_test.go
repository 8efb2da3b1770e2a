package v1beta1

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// crdDir holds the CRDs, from this package's directory.
const crdDir = "../../../../build/crds/"

// schemaNode is the part of a structural OpenAPI schema the check reads.
type schemaNode struct {
	Type                 string                `json:"type"`
	Format               string                `json:"format"`
	Properties           map[string]schemaNode `json:"properties"`
	Items                *schemaNode           `json:"items"`
	AdditionalProperties *schemaNode           `json:"additionalProperties"`
	PreserveUnknown      bool                  `json:"x-kubernetes-preserve-unknown-fields"`
	Enum                 []string              `json:"enum"`
}

type crdFile struct {
	Spec struct {
		Versions []struct {
			Name   string `json:"name"`
			Schema struct {
				OpenAPIV3Schema schemaNode `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

func loadSchema(t *testing.T, file string) schemaNode {
	t.Helper()
	data, err := os.ReadFile(crdDir + file)
	if err != nil {
		t.Fatal(err)
	}
	var crd crdFile
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != "v1beta1" {
		t.Fatalf("%s: want one version v1beta1", file)
	}
	return crd.Spec.Versions[0].Schema.OpenAPIV3Schema
}

var customizedValueType = reflect.TypeFor[CustomizedValue]()

// compareSchema checks that schema s describes Go type typ field for field,
// in both directions, with matching scalar types; free-form values must be
// preserve-unknown-fields objects.
func compareSchema(t *testing.T, path string, typ reflect.Type, s schemaNode) {
	t.Helper()
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == customizedValueType {
		if s.Type != "object" || !s.PreserveUnknown {
			t.Errorf("%s: free-form value needs type object and x-kubernetes-preserve-unknown-fields", path)
		}
		return
	}
	want := map[reflect.Kind]string{
		reflect.String: "string", reflect.Bool: "boolean", reflect.Int64: "integer", reflect.Int32: "integer",
		reflect.Struct: "object", reflect.Slice: "array", reflect.Map: "object",
	}[typ.Kind()]
	if want == "" || s.Type != want {
		t.Errorf("%s: schema type %q for Go %s", path, s.Type, typ)
		return
	}
	switch typ.Kind() {
	case reflect.Int64, reflect.Int32:
		if s.Format != typ.Kind().String() {
			t.Errorf("%s: format %q, want %s", path, s.Format, typ.Kind())
		}
	case reflect.Slice:
		compareSchema(t, path+"[]", typ.Elem(), *s.Items)
	case reflect.Map:
		if s.AdditionalProperties == nil {
			t.Errorf("%s: map without additionalProperties", path)
			return
		}
		compareSchema(t, path+"{}", typ.Elem(), *s.AdditionalProperties)
	case reflect.Struct:
		compareFields(t, path, typ, s)
	}
}

func compareFields(t *testing.T, path string, typ reflect.Type, s schemaNode) {
	t.Helper()
	seen := map[string]bool{}
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			t.Errorf("%s.%s: no JSON name", path, f.Name)
			continue
		}
		seen[name] = true
		ps, ok := s.Properties[name]
		if !ok {
			t.Errorf("%s.%s: not in the schema (the apiserver would prune it)", path, name)
			continue
		}
		compareSchema(t, path+"."+name, f.Type, ps)
	}
	for name := range s.Properties {
		if !seen[name] {
			t.Errorf("%s.%s: in the schema but not in Go type %s", path, name, typ)
		}
	}
}

// TestCRDsMatchTypes keeps build/crds and the Go types in step: every field
// of the types is in the schema (else the apiserver drops it), every schema
// field is in the types (else the client drops it).
func TestCRDsMatchTypes(t *testing.T) {
	dev := loadSchema(t, "devices.kubeedge.io_devices.yaml")
	compareSchema(t, "Device.spec", reflect.TypeFor[DeviceSpec](), dev.Properties["spec"])
	compareSchema(t, "Device.status", reflect.TypeFor[DeviceStatus](), dev.Properties["status"])
	model := loadSchema(t, "devices.kubeedge.io_devicemodels.yaml")
	compareSchema(t, "DeviceModel.spec", reflect.TypeFor[DeviceModelSpec](), model.Properties["spec"])
	if _, ok := model.Properties["status"]; ok {
		t.Error("DeviceModel has no status")
	}

	props := model.Properties["spec"].Properties["properties"].Items.Properties
	types := []string{"INT", "FLOAT", "DOUBLE", "STRING", "BOOLEAN", "BYTES", "STREAM"}
	if got := props["type"].Enum; !slices.Equal(got, types) {
		t.Errorf("property type enum %v, want %v", got, types)
	}
	if got := props["accessMode"].Enum; !slices.Equal(got, []string{string(ReadWrite), string(ReadOnly)}) {
		t.Errorf("accessMode enum %v", got)
	}
}
