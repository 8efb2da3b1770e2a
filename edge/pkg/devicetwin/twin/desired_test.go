package twin

import (
	"slices"
	"testing"
)

// present, as a golden payload, only asks that the payload exists.
const present = "<present>"

func TestApplyDesired(t *testing.T) {
	all := map[string]Desired{
		"heater":      {Type: "BOOLEAN", Value: "true"},
		"temperature": {Type: "FLOAT"},
	}
	edgeSetHeater := func(m map[string]*Twin) {
		m["heater"].Expected = val("false", 500)
		m["heater"].ExpectedVersion = Version{Cloud: 2, Edge: 1}
	}
	tests := []struct {
		name       string
		start      func(m map[string]*Twin) // edits sample() before the call
		desired    map[string]Desired
		generation int64
		edit       func(m map[string]*Twin) // turns the start into the wanted twin
		changed    []string
		document   string
		delta      string
	}{{
		name:    "a re-sent Device (same generation) changes nothing",
		desired: map[string]Desired{"heater": {Type: "BOOLEAN", Value: "false"}, "temperature": {Type: "FLOAT"}}, generation: 2,
	}, {
		name:    "an older Device changes nothing",
		desired: map[string]Desired{"heater": {Type: "BOOLEAN", Value: "false"}}, generation: 1,
	}, {
		name:  "a re-sent Device never overwrites an expected value set at the edge since",
		start: edgeSetHeater, desired: all, generation: 2,
	}, {
		name:  "a newer generation applies and overrides an expected value set at the edge",
		start: edgeSetHeater, desired: all, generation: 3,
		edit: func(m map[string]*Twin) {
			m["heater"].Expected = val("true", now.UnixMilli())
			m["heater"].ExpectedVersion = Version{Cloud: 3, Edge: 1}
			m["temperature"].ExpectedVersion.Cloud = 3
		},
		changed:  []string{"heater", "temperature"},
		document: `{"event_id":"` + freshID + `","timestamp":1700000000000,"twin":{"heater":{"last":{"expected":{"value":"false","metadata":{"timestamp":500}},"actual":{"value":"false","metadata":{"timestamp":1000}},"optional":false,"metadata":{"type":"boolean"}},"current":{"expected":{"value":"true","metadata":{"timestamp":1700000000000}},"actual":{"value":"false","metadata":{"timestamp":1000}},"optional":false,"metadata":{"type":"boolean"}}}}}`,
		delta:    `{"event_id":"` + freshID + `","timestamp":1700000000000,"delta":{"heater":"true"},"twin":{"heater":{"expected":{"value":"true","metadata":{"timestamp":1700000000000}},"actual":{"value":"false","metadata":{"timestamp":1000}},"optional":false,"metadata":{"type":"boolean"}},"temperature":` + pubTemp + `,"note":` + pubNote + `}}`,
	}, {
		name:    "a newer generation with the same value only records the generation",
		desired: all, generation: 3,
		edit: func(m map[string]*Twin) {
			m["heater"].ExpectedVersion.Cloud = 3
			m["temperature"].ExpectedVersion.Cloud = 3
		},
		changed: []string{"heater", "temperature"},
	}, {
		name: "without a desired value the expected value stays the edge's",
		start: func(m map[string]*Twin) {
			m["temperature"].Expected = val("25", 500)
			m["temperature"].ExpectedVersion = Version{Cloud: 2, Edge: 1}
		},
		desired: all, generation: 9,
		edit: func(m map[string]*Twin) {
			m["heater"].ExpectedVersion.Cloud = 9
			m["temperature"].ExpectedVersion.Cloud = 9
		},
		changed: []string{"heater", "temperature"},
	}, {
		name:    "properties the Device no longer has are removed; optional ones stay",
		desired: map[string]Desired{"heater": {Type: "BOOLEAN", Value: "true"}}, generation: 3,
		edit: func(m map[string]*Twin) {
			delete(m, "temperature")
			m["heater"].ExpectedVersion.Cloud = 3
		},
		changed:  []string{"heater", "temperature"},
		document: `{"event_id":"` + freshID + `","timestamp":1700000000000,"twin":{"temperature":{"last":` + pubTemp + `,"current":null}}}`,
		delta:    `{"event_id":"` + freshID + `","timestamp":1700000000000,"delta":{"heater":"true"},"twin":{"heater":` + pubHeater + `,"note":` + pubNote + `}}`,
	}, {
		name: "an older Device does not remove a property a newer one added",
		start: func(m map[string]*Twin) {
			m["mode"] = &Twin{Metadata: TypeMetadata{Type: TypeString}, ExpectedVersion: Version{Cloud: 5}}
		},
		desired: all, generation: 4,
		edit: func(m map[string]*Twin) {
			m["heater"].ExpectedVersion.Cloud = 4
			m["temperature"].ExpectedVersion.Cloud = 4
		},
		changed: []string{"heater", "temperature"},
	}, {
		name: "new properties are added with the model's type and the desired value",
		desired: map[string]Desired{
			"heater": all["heater"], "temperature": all["temperature"],
			"mode": {Type: "STRING", Value: "eco"}, "pressure": {Type: "INT"}, "odd": {Type: "COLOUR"},
		},
		generation: 2,
		edit: func(m map[string]*Twin) {
			m["mode"] = &Twin{Expected: val("eco", now.UnixMilli()), Metadata: TypeMetadata{Type: TypeString}, ExpectedVersion: Version{Cloud: 2}}
			m["pressure"] = &Twin{Metadata: TypeMetadata{Type: TypeInt}, ExpectedVersion: Version{Cloud: 2}}
			m["odd"] = &Twin{Metadata: TypeMetadata{Type: TypeString}, ExpectedVersion: Version{Cloud: 2}}
		},
		changed: []string{"mode", "odd", "pressure"},
		document: `{"event_id":"` + freshID + `","timestamp":1700000000000,"twin":{` +
			`"mode":{"last":null,"current":{"expected":{"value":"eco","metadata":{"timestamp":1700000000000}},"optional":false,"metadata":{"type":"string"}}},` +
			`"odd":{"last":null,"current":{"optional":false,"metadata":{"type":"string"}}},` +
			`"pressure":{"last":null,"current":{"optional":false,"metadata":{"type":"int"}}}}}`,
		delta: present,
	}, {
		name:    "declaring an optional property makes it the Device's, of the model's type",
		desired: map[string]Desired{"heater": all["heater"], "temperature": all["temperature"], "note": {Type: "BYTES"}}, generation: 2,
		edit: func(m map[string]*Twin) {
			m["note"].Optional = false
			m["note"].Metadata.Type = TypeBytes
			m["note"].ExpectedVersion.Cloud = 2
		},
		changed:  []string{"note"},
		document: `{"event_id":"` + freshID + `","timestamp":1700000000000,"twin":{"note":{"last":` + pubNote + `,"current":{"actual":{"value":"hello","metadata":{"timestamp":1000}},"optional":false,"metadata":{"type":"bytes"}}}}}`,
		delta:    present,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := sample()
			if tt.start != nil {
				tt.start(current)
			}
			before := mustJSON(t, current)
			out := ApplyDesired(current, tt.desired, tt.generation, now)
			if after := mustJSON(t, current); after != before {
				t.Fatalf("ApplyDesired modified its input:\nbefore %s\nafter  %s", before, after)
			}
			want := sample()
			if tt.start != nil {
				tt.start(want)
			}
			if tt.edit != nil {
				tt.edit(want)
			}
			if got, w := mustJSON(t, out.Twins), mustJSON(t, want); got != w {
				t.Errorf("Twins =\n%s\nwant\n%s", got, w)
			}
			if !slices.Equal(out.Changed, tt.changed) {
				t.Errorf("Changed = %q, want %q", out.Changed, tt.changed)
			}
			if out.Result != nil || out.Reported != nil && len(out.Reported) > 0 {
				t.Errorf("Result, Reported = %s, %q; want none", out.Result, out.Reported)
			}
			for _, p := range []struct {
				what, want string
				got        []byte
			}{{"document", tt.document, out.Document}, {"delta", tt.delta, out.Delta}} {
				if p.want == present {
					if p.got == nil {
						t.Errorf("%s missing", p.what)
					}
					assertNoVersions(t, p.got)
					continue
				}
				assertPayload(t, p.what, p.got, p.want)
			}
		})
	}
}
