package v1beta1

import (
	"encoding/json"
	"fmt"

	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// CustomizedValue is a free-form JSON object, KubeEdge's type for protocol
// settings. It encodes as the object itself ({"slaveID": 1}), not as a
// wrapper; nil Data encodes as {}.
//
// Data holds what encoding/json would produce for the object, except that
// whole numbers are int64 and others float64 (as in unstructured objects):
// map[string]any, []any, string, int64, float64, bool and nil. DeepCopy
// copies maps and slices and shares everything else, so put only such
// values in Data.
//
// Why a map and not json.RawMessage or runtime.RawExtension: the edge and
// the mappers read these settings by key, and a map survives the
// unstructured conversion the client does without a second decode.
//
// +k8s:deepcopy-gen=false
type CustomizedValue struct {
	Data map[string]any `json:"-"`
}

// MarshalJSON encodes Data as a JSON object.
func (in CustomizedValue) MarshalJSON() ([]byte, error) {
	if in.Data == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(in.Data)
}

// UnmarshalJSON decodes a JSON object into Data; null leaves Data as it
// is, and anything else is an error.
func (in *CustomizedValue) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var m map[string]any
	if err := utiljson.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("free-form value: want a JSON object: %w", err)
	}
	in.Data = m
	return nil
}

// DeepCopyInto copies in into out; out shares nothing mutable with in.
func (in *CustomizedValue) DeepCopyInto(out *CustomizedValue) {
	out.Data = nil
	if in.Data != nil {
		out.Data = deepCopyJSON(in.Data).(map[string]any)
	}
}

// DeepCopy returns a copy of in, or nil for nil.
func (in *CustomizedValue) DeepCopy() *CustomizedValue {
	if in == nil {
		return nil
	}
	out := new(CustomizedValue)
	in.DeepCopyInto(out)
	return out
}

// deepCopyJSON copies the maps and slices of a decoded JSON value; every
// other value is immutable and shared.
func deepCopyJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = deepCopyJSON(e)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = deepCopyJSON(e)
		}
		return s
	default:
		return v
	}
}
