package v1beta1

import (
	"os"
	"strings"
	"testing"
)

func TestDecodeManifest(t *testing.T) {
	data, err := os.ReadFile("testdata/reference-sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeManifest(data)
	if err != nil || len(m.Models) != 1 || len(m.Devices) != 1 || m.Devices[0].Spec.NodeName != "edge-1" || m.Models[0].Name != "thermo-model" {
		t.Fatalf("DecodeManifest(reference sample) = %+v, %v; want thermo-model and thermo-1 on edge-1", m, err)
	}
	for name, c := range map[string]struct{ yaml, want string }{
		"unknown field": {"kind: Device\napiVersion: devices.kubeedge.io/v1beta1\nspec: {nodeNam: x}\n", `document 1: error unmarshaling JSON: while decoding JSON: json: unknown field "nodeNam"`},
		"other kind":    {"---\nkind: DeviceModel\n---\nkind: Pod\n", `document 2: kind "Pod" is neither DeviceModel nor Device`},
	} {
		if _, err := DecodeManifest([]byte(c.yaml)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", name, err, c.want)
		}
	}
}
