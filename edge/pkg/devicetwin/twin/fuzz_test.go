package twin

import (
	"encoding/json"
	"testing"
)

// FuzzParseUpdate checks that parsing and applying any payload never
// panics, that a refused update changes nothing, and that what is
// published is JSON without versions.
func FuzzParseUpdate(f *testing.F) {
	for _, s := range []string{
		`{"event_id":"e","timestamp":1,"twin":{"heater":{"actual":{"value":"true"}}}}`,
		`{"event_id":"e","timestamp":1,"twin":{"note":null,"x":{"expected":{"value":"1","metadata":{"timestamp":5}},"metadata":{"type":"int"}}}}`,
		`{"event_id":"","timestamp":1,"twin":{"temperature":{"expected":{"value":"2.5"},"actual":{"value":"2.5"}}}}`,
		`{"event_id":1}`, `[]`, `null`, `{"twin":{"":null}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		req, err := ParseUpdate(payload)
		if err != nil {
			if _, ok := err.(*PayloadError); !ok {
				t.Fatalf("ParseUpdate error %T, want *PayloadError", err)
			}
			_ = ErrorResultFor(req.EventID, err, now)
			return
		}
		current := sample()
		before := mustJSON(t, current)
		out, err := Update(current, req, now)
		if mustJSON(t, current) != before {
			t.Fatal("Update modified its input")
		}
		if err != nil {
			return
		}
		for _, p := range [][]byte{out.Result, out.Document, out.Delta} {
			if p != nil && !json.Valid(p) {
				t.Fatalf("invalid JSON published: %s", p)
			}
			assertNoVersions(t, p)
		}
	})
}
