package v1beta1

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Manifest is what a stream of Device and DeviceModel manifests declares,
// in the stream's order.
type Manifest struct {
	Models  []*DeviceModel
	Devices []*Device
}

// SplitManifest splits a YAML stream (documents separated by "---") into
// its documents, each converted to JSON; empty documents are skipped.
func SplitManifest(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		docs = append(docs, j)
	}
}

// DecodeManifest decodes a YAML stream of DeviceModels and Devices
// strictly: an unknown field, or a document of another kind, is an error
// naming the document.
func DecodeManifest(data []byte) (Manifest, error) {
	docs, err := SplitManifest(data)
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	for i, doc := range docs {
		var head metav1.TypeMeta
		if err := json.Unmarshal(doc, &head); err != nil {
			return Manifest{}, fmt.Errorf("document %d: %w", i+1, err)
		}
		switch head.Kind {
		case DeviceModelKind:
			var dm DeviceModel
			err = yaml.UnmarshalStrict(doc, &dm)
			m.Models = append(m.Models, &dm)
		case DeviceKind:
			var d Device
			err = yaml.UnmarshalStrict(doc, &d)
			m.Devices = append(m.Devices, &d)
		default:
			err = fmt.Errorf("kind %q is neither %s nor %s", head.Kind, DeviceModelKind, DeviceKind)
		}
		if err != nil {
			return Manifest{}, fmt.Errorf("document %d: %w", i+1, err)
		}
	}
	return m, nil
}
