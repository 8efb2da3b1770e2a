package twin

import (
	"slices"
	"testing"
)

// The sample twin's properties as published (no versions).
const (
	pubHeater = `{"expected":{"value":"true","metadata":{"timestamp":1000}},"actual":{"value":"false","metadata":{"timestamp":1000}},"optional":false,"metadata":{"type":"boolean"}}`
	pubTemp   = `{"actual":{"value":"21.5","metadata":{"timestamp":1000}},"optional":false,"metadata":{"type":"float"}}`
	pubNote   = `{"actual":{"value":"hello","metadata":{"timestamp":1000}},"optional":true,"metadata":{"type":"string"}}`
)

func TestUpdate(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		// edit turns sample() into the wanted twin; nil for "unchanged".
		edit     func(m map[string]*Twin)
		changed  []string
		reported []string
		result   string // golden result
		document string // golden document; "" when none
		delta    string // golden delta; "" when none
		reason   string // PayloadError reason substring when the update fails
	}{{
		name:    "actual update bumps the edge version and yields result and document, no delta when equal",
		payload: `{"event_id":"u1","timestamp":1,"twin":{"heater":{"actual":{"value":"true"}}}}`,
		edit: func(m map[string]*Twin) {
			m["heater"].Actual = val("true", now.UnixMilli())
			m["heater"].ActualVersion.Edge = 4
		},
		changed:  []string{"heater"},
		reported: []string{"heater"},
		result:   `{"event_id":"u1","timestamp":1700000000000,"twin":{"heater":{"expected":{"value":"true","metadata":{"timestamp":1000}},"actual":{"value":"true","metadata":{"timestamp":1700000000000}},"optional":false,"metadata":{"type":"boolean"}}}}`,
		document: `{"event_id":"u1","timestamp":1700000000000,"twin":{"heater":{"last":` + pubHeater + `,"current":{"expected":{"value":"true","metadata":{"timestamp":1000}},"actual":{"value":"true","metadata":{"timestamp":1700000000000}},"optional":false,"metadata":{"type":"boolean"}}}}}`,
	}, {
		name:    "request timestamp is kept; delta lists only the differing property with the whole twin",
		payload: `{"event_id":"u2","timestamp":1,"twin":{"temperature":{"actual":{"value":"22","metadata":{"timestamp":1234}}}}}`,
		edit: func(m map[string]*Twin) {
			m["temperature"].Actual = val("22", 1234)
			m["temperature"].ActualVersion.Edge = 8
		},
		changed:  []string{"temperature"},
		reported: []string{"temperature"},
		result:   `{"event_id":"u2","timestamp":1700000000000,"twin":{"temperature":{"actual":{"value":"22","metadata":{"timestamp":1234}},"optional":false,"metadata":{"type":"float"}}}}`,
		document: `{"event_id":"u2","timestamp":1700000000000,"twin":{"temperature":{"last":` + pubTemp + `,"current":{"actual":{"value":"22","metadata":{"timestamp":1234}},"optional":false,"metadata":{"type":"float"}}}}}`,
		delta:    `{"event_id":"` + freshID + `","timestamp":1700000000000,"delta":{"heater":"true"},"twin":{"heater":` + pubHeater + `,"note":` + pubNote + `,"temperature":{"actual":{"value":"22","metadata":{"timestamp":1234}},"optional":false,"metadata":{"type":"float"}}}}`,
	}, {
		name:    "expected set at the edge bumps the expected edge version and is not reported",
		payload: `{"event_id":"u3","timestamp":1,"twin":{"temperature":{"expected":{"value":"25"}}}}`,
		edit: func(m map[string]*Twin) {
			m["temperature"].Expected = val("25", now.UnixMilli())
			m["temperature"].ExpectedVersion.Edge = 1
		},
		changed:  []string{"temperature"},
		result:   `{"event_id":"u3","timestamp":1700000000000,"twin":{"temperature":{"expected":{"value":"25","metadata":{"timestamp":1700000000000}},"actual":{"value":"21.5","metadata":{"timestamp":1000}},"optional":false,"metadata":{"type":"float"}}}}`,
		document: `{"event_id":"u3","timestamp":1700000000000,"twin":{"temperature":{"last":` + pubTemp + `,"current":{"expected":{"value":"25","metadata":{"timestamp":1700000000000}},"actual":{"value":"21.5","metadata":{"timestamp":1000}},"optional":false,"metadata":{"type":"float"}}}}}`,
		delta:    `{"event_id":"` + freshID + `","timestamp":1700000000000,"delta":{"heater":"true","temperature":"25"},"twin":{"heater":` + pubHeater + `,"note":` + pubNote + `,"temperature":{"expected":{"value":"25","metadata":{"timestamp":1700000000000}},"actual":{"value":"21.5","metadata":{"timestamp":1000}},"optional":false,"metadata":{"type":"float"}}}}`,
	}, {
		name:    "an equal value changes nothing and publishes only the result",
		payload: `{"event_id":"u4","timestamp":1,"twin":{"heater":{"actual":{"value":"false","metadata":{"timestamp":99}}}}}`,
		result:  `{"event_id":"u4","timestamp":1700000000000,"twin":{"heater":` + pubHeater + `}}`,
	}, {
		name:     "null deletes an optional property",
		payload:  `{"event_id":"u5","timestamp":1,"twin":{"note":null}}`,
		edit:     func(m map[string]*Twin) { delete(m, "note") },
		changed:  []string{"note"},
		reported: []string{"note"},
		result:   `{"event_id":"u5","timestamp":1700000000000,"twin":{"note":null}}`,
		document: `{"event_id":"u5","timestamp":1700000000000,"twin":{"note":{"last":` + pubNote + `,"current":null}}}`,
		delta:    `{"event_id":"` + freshID + `","timestamp":1700000000000,"delta":{"heater":"true"},"twin":{"heater":` + pubHeater + `,"temperature":` + pubTemp + `}}`,
	}, {
		name:    "null for an absent property does nothing",
		payload: `{"event_id":"u6","timestamp":1,"twin":{"gone":null}}`,
		result:  `{"event_id":"u6","timestamp":1700000000000,"twin":{"gone":null}}`,
	}, {
		name:    "an unknown property is added as optional with its type",
		payload: `{"event_id":"u7","timestamp":1,"twin":{"humidity":{"actual":{"value":"40"},"optional":false,"metadata":{"type":"int"}}}}`,
		edit: func(m map[string]*Twin) {
			m["humidity"] = &Twin{Actual: val("40", now.UnixMilli()), Optional: true, Metadata: TypeMetadata{Type: TypeInt}, ActualVersion: Version{Edge: 1}}
		},
		changed:  []string{"humidity"},
		reported: []string{"humidity"},
		result:   `{"event_id":"u7","timestamp":1700000000000,"twin":{"humidity":{"actual":{"value":"40","metadata":{"timestamp":1700000000000}},"optional":true,"metadata":{"type":"int"}}}}`,
		document: `{"event_id":"u7","timestamp":1700000000000,"twin":{"humidity":{"last":null,"current":{"actual":{"value":"40","metadata":{"timestamp":1700000000000}},"optional":true,"metadata":{"type":"int"}}}}}`,
		delta:    `{"event_id":"` + freshID + `","timestamp":1700000000000,"delta":{"heater":"true"},"twin":{"heater":` + pubHeater + `,"temperature":` + pubTemp + `,"note":` + pubNote + `,"humidity":{"actual":{"value":"40","metadata":{"timestamp":1700000000000}},"optional":true,"metadata":{"type":"int"}}}}`,
	}, {
		name:    "an empty request changes nothing",
		payload: `{"event_id":"u8","timestamp":1,"twin":{}}`,
		result:  `{"event_id":"u8","timestamp":1700000000000,"twin":{}}`,
	},
		{name: "null for a non-optional property is an error", payload: `{"event_id":"e","timestamp":1,"twin":{"heater":null}}`, reason: `property "heater" is not optional and cannot be deleted`},
		{name: "a value of the wrong type is an error", payload: `{"event_id":"e","timestamp":1,"twin":{"heater":{"actual":{"value":"maybe"}}}}`, reason: `field twin.heater.actual.value: "maybe" is not a valid boolean`},
		{name: "an integer property refuses a float", payload: `{"event_id":"e","timestamp":1,"twin":{"n":{"actual":{"value":"1.5"},"metadata":{"type":"int"}}}}`, reason: `field twin.n.actual.value: "1.5" is not a valid int`},
		{name: "an unknown type for a new property is an error", payload: `{"event_id":"e","timestamp":1,"twin":{"c":{"actual":{"value":"red"},"metadata":{"type":"colour"}}}}`, reason: `field twin.c.metadata.type: unknown type "colour"`},
		{name: "one bad property rejects the whole update", payload: `{"event_id":"e","timestamp":1,"twin":{"temperature":{"actual":{"value":"30"}},"note":null,"heater":{"expected":{"value":"2"}}}}`, reason: `field twin.heater.expected.value: "2" is not a valid boolean`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseUpdate([]byte(tt.payload))
			if err != nil {
				t.Fatalf("ParseUpdate: %v", err)
			}
			current := sample()
			before := mustJSON(t, current)
			out, err := Update(current, req, now)
			if after := mustJSON(t, current); after != before {
				t.Fatalf("Update modified its input:\nbefore %s\nafter  %s", before, after)
			}
			if tt.reason != "" {
				assertReason(t, err, tt.reason)
				if out.Twins != nil || out.Result != nil {
					t.Errorf("failed Update returned %+v, want a zero Outcome", out)
				}
				return
			}
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			want := sample()
			if tt.edit != nil {
				tt.edit(want)
			}
			if got, w := mustJSON(t, out.Twins), mustJSON(t, want); got != w {
				t.Errorf("Twins =\n%s\nwant\n%s", got, w)
			}
			if !slices.Equal(out.Changed, tt.changed) || !slices.Equal(out.Reported, tt.reported) {
				t.Errorf("Changed, Reported = %q, %q; want %q, %q", out.Changed, out.Reported, tt.changed, tt.reported)
			}
			assertPayload(t, "result", out.Result, tt.result)
			assertPayload(t, "document", out.Document, tt.document)
			assertPayload(t, "delta", out.Delta, tt.delta)
		})
	}
}

// assertPayload checks an optional published payload against its golden.
func assertPayload(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	switch {
	case want == "" && got != nil:
		t.Errorf("%s = %s, want none", what, got)
	case want != "" && got == nil:
		t.Errorf("%s missing, want %s", what, want)
	case want != "":
		assertJSON(t, got, want)
		assertNoVersions(t, got)
	}
}

// TestUpdateSharesNothing checks that the Outcome's twin can be changed
// without touching the input, and the reverse.
func TestUpdateSharesNothing(t *testing.T) {
	current := sample()
	req, err := ParseUpdate([]byte(`{"event_id":"e","timestamp":1,"twin":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Update(current, req, now)
	if err != nil {
		t.Fatal(err)
	}
	out.Twins["heater"].Expected.Value = "changed"
	out.Twins["temperature"].ActualVersion.Edge = 100
	if current["heater"].Expected.Value != "true" || current["temperature"].ActualVersion.Edge != 7 {
		t.Errorf("changing the Outcome changed the input: %s", mustJSON(t, current))
	}
}

// TestUpdateHandBuiltRequest checks that Update applies the size limits to
// requests that did not come through ParseUpdate.
func TestUpdateHandBuiltRequest(t *testing.T) {
	long := make([]byte, MaxValueBytes+1)
	for i := range long {
		long[i] = 'v'
	}
	tests := []struct {
		name   string
		req    UpdateRequest
		reason string
	}{
		{"nil twin", UpdateRequest{}, "missing field twin"},
		{"513-byte value", UpdateRequest{Twin: map[string]*Twin{"note": {Actual: &TwinValue{Value: string(long)}}}}, "field twin.note.actual.value is 513 bytes"},
		{"129-byte name", UpdateRequest{Twin: map[string]*Twin{string(long[:129]): {}}}, "more than 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Update(sample(), tt.req, now)
			assertReason(t, err, tt.reason)
		})
	}
}
