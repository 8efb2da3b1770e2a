package twin

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// now is the clock every test uses: 1700000000000 ms.
var now = time.UnixMilli(1700000000000)

// freshID marks, in a golden payload, an event_id the edge generates: any
// non-empty string.
const freshID = "<fresh>"

// assertJSON compares got with the golden JSON want structurally. An
// "event_id" of freshID in want matches any non-empty event id.
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("payload is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("golden is not JSON: %v", err)
	}
	if wm, ok := w.(map[string]any); ok && wm["event_id"] == freshID {
		gm, _ := g.(map[string]any)
		if id, _ := gm["event_id"].(string); id == "" {
			t.Errorf("event_id = %v, want a fresh id", gm["event_id"])
		} else {
			gm["event_id"] = freshID
		}
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("payload mismatch\n got: %s\nwant: %s", got, want)
	}
}

// assertNoVersions fails if a published payload carries version counters:
// an "expected_version" or "actual_version" holding numeric "cloud" and
// "edge", anywhere. (Structural, so property names cannot fool it.)
func assertNoVersions(t *testing.T, payload []byte) {
	t.Helper()
	if payload == nil {
		return
	}
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		t.Fatalf("payload is not JSON: %v\n%s", err, payload)
	}
	if hasVersion(v) {
		t.Errorf("versions leaked into published payload: %s", payload)
	}
}

func hasVersion(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if ver, ok := e.(map[string]any); ok && (k == "expected_version" || k == "actual_version") {
				_, c := ver["cloud"].(float64)
				_, e := ver["edge"].(float64)
				if c && e {
					return true
				}
			}
			if hasVersion(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasVersion(e) {
				return true
			}
		}
	}
	return false
}

func val(v string, ts int64) *TwinValue {
	return &TwinValue{Value: v, Metadata: ValueMetadata{Timestamp: ts}}
}

// sample returns a twin like the REFERENCE.md thermostat's: heater has
// expected "true" and actual "false", temperature an actual value (both
// declared by the Device at generation 2), and note is optional (added at
// the edge).
func sample() map[string]*Twin {
	return map[string]*Twin{
		"heater": {
			Expected: val("true", 1000), Actual: val("false", 1000),
			Metadata:        TypeMetadata{Type: TypeBoolean},
			ExpectedVersion: Version{Cloud: 2}, ActualVersion: Version{Edge: 3},
		},
		"temperature": {
			Actual:          val("21.5", 1000),
			Metadata:        TypeMetadata{Type: TypeFloat},
			ExpectedVersion: Version{Cloud: 2},
			ActualVersion:   Version{Edge: 7},
		},
		"note": {
			Actual:        val("hello", 1000),
			Optional:      true,
			Metadata:      TypeMetadata{Type: TypeString},
			ActualVersion: Version{Edge: 1},
		},
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
