package twin

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseUpdate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("k", n) }
	tests := []struct {
		name    string
		payload string
		want    UpdateRequest
		reason  string // substring of the PayloadError reason; "" for success
		eventID string // the EventID returned with an error
	}{{
		name:    "actual and expected values with metadata",
		payload: `{"event_id":"e1","timestamp":5,"twin":{"heater":{"expected":{"value":"on"},"actual":{"value":"off","metadata":{"timestamp":42}}}}}`,
		want: UpdateRequest{BaseMessage: BaseMessage{EventID: "e1", Timestamp: 5}, Twin: map[string]*Twin{
			"heater": {Expected: &TwinValue{Value: "on"}, Actual: val("off", 42)},
		}},
	}, {
		name:    "null property is a nil entry; optional and versions are ignored",
		payload: `{"event_id":"","timestamp":5,"twin":{"note":null,"x":{"optional":false,"expected_version":{"cloud":9,"edge":9},"metadata":{"type":"int"}}}}`,
		want: UpdateRequest{BaseMessage: BaseMessage{Timestamp: 5}, Twin: map[string]*Twin{
			"note": nil, "x": {Metadata: TypeMetadata{Type: "int"}},
		}},
	}, {
		name:    "name of 128 bytes and value of 512 bytes are allowed",
		payload: `{"event_id":"e","timestamp":1,"twin":{"` + long(128) + `":{"actual":{"value":"` + strings.Repeat("v", 512) + `"}}}}`,
		want: UpdateRequest{BaseMessage: BaseMessage{EventID: "e", Timestamp: 1}, Twin: map[string]*Twin{
			long(128): {Actual: &TwinValue{Value: strings.Repeat("v", 512)}},
		}},
	},
		{name: "malformed JSON", payload: `{"event_id":"e",`, reason: "malformed JSON"},
		{name: "trailing garbage", payload: `{"event_id":"e","timestamp":1,"twin":{}} x`, reason: "malformed JSON"},
		{name: "not an object", payload: `[1]`, reason: "must be a JSON object"},
		{name: "missing event_id", payload: `{"timestamp":1,"twin":{}}`, reason: "missing field event_id"},
		{name: "event_id not a string", payload: `{"event_id":7,"timestamp":1,"twin":{}}`, reason: "field event_id must be a string"},
		{name: "missing timestamp", payload: `{"event_id":"e","twin":{}}`, reason: "missing field timestamp", eventID: "e"},
		{name: "timestamp not an integer", payload: `{"event_id":"e","timestamp":"now","twin":{}}`, reason: "field timestamp must be an integer", eventID: "e"},
		{name: "fractional timestamp", payload: `{"event_id":"e","timestamp":1.5,"twin":{}}`, reason: "field timestamp must be an integer", eventID: "e"},
		{name: "missing twin", payload: `{"event_id":"e","timestamp":1}`, reason: "missing field twin", eventID: "e"},
		{name: "twin not an object", payload: `{"event_id":"e","timestamp":1,"twin":[]}`, reason: "field twin must be an object", eventID: "e"},
		{name: "property not an object", payload: `{"event_id":"e","timestamp":1,"twin":{"heater":5}}`, reason: "field twin.heater must be an object", eventID: "e"},
		{name: "value not a string", payload: `{"event_id":"e","timestamp":1,"twin":{"heater":{"actual":{"value":1}}}}`, reason: "field twin.heater.actual.value must be a string", eventID: "e"},
		{name: "value timestamp not an integer", payload: `{"event_id":"e","timestamp":1,"twin":{"heater":{"expected":{"value":"1","metadata":{"timestamp":"x"}}}}}`, reason: "field twin.heater.expected.metadata.timestamp must be an integer", eventID: "e"},
		{name: "value object without value", payload: `{"event_id":"e","timestamp":1,"twin":{"heater":{"actual":{}}}}`, reason: "missing field twin.heater.actual.value", eventID: "e"},
		{name: "empty property name", payload: `{"event_id":"e","timestamp":1,"twin":{"":{}}}`, reason: "property name is empty", eventID: "e"},
		{name: "129-byte property name", payload: `{"event_id":"e","timestamp":1,"twin":{"` + long(129) + `":{}}}`, reason: "property name \"kkkk", eventID: "e"},
		{name: "513-byte value", payload: `{"event_id":"e","timestamp":1,"twin":{"heater":{"expected":{"value":"` + strings.Repeat("v", 513) + `"}}}}`, reason: "field twin.heater.expected.value is 513 bytes, more than 512", eventID: "e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseUpdate([]byte(tt.payload))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("ParseUpdate: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("ParseUpdate =\n%s\nwant\n%s", mustJSON(t, got), mustJSON(t, tt.want))
				}
				return
			}
			assertReason(t, err, tt.reason)
			if got.EventID != tt.eventID || got.Twin != nil {
				t.Errorf("on error got EventID %q, Twin %v; want %q, nil", got.EventID, got.Twin, tt.eventID)
			}
		})
	}
}

func assertReason(t *testing.T, err error, reason string) {
	t.Helper()
	pe, ok := errors.AsType[*PayloadError](err)
	if !ok {
		t.Fatalf("error = %v (%T), want a *PayloadError", err, err)
	}
	if !strings.Contains(pe.Reason, reason) {
		t.Errorf("reason = %q, want it to contain %q", pe.Reason, reason)
	}
}

func TestParseGet(t *testing.T) {
	tests := []struct {
		name, payload, reason string
		want                  GetRequest
	}{
		{name: "valid", payload: `{"event_id":"g1","timestamp":9}`, want: GetRequest{BaseMessage{EventID: "g1", Timestamp: 9}}},
		{name: "missing timestamp", payload: `{"event_id":"g1"}`, reason: "missing field timestamp", want: GetRequest{BaseMessage{EventID: "g1"}}},
		{name: "missing event_id", payload: `{"timestamp":9}`, reason: "missing field event_id", want: GetRequest{BaseMessage{Timestamp: 9}}},
		{name: "malformed", payload: `nope`, reason: "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseGet([]byte(tt.payload))
			if tt.reason != "" {
				assertReason(t, err, tt.reason)
			} else if err != nil {
				t.Fatalf("ParseGet: %v", err)
			}
			if got != tt.want {
				t.Errorf("ParseGet = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseStateUpdate(t *testing.T) {
	tests := []struct {
		name, payload, state, reason string
	}{
		{name: "online", payload: `{"event_id":"s","timestamp":1,"state":"online"}`, state: StateOnline},
		{name: "each state, any case", payload: `{"event_id":"s","timestamp":1,"state":"UnHealthy"}`, state: StateUnhealthy},
		{name: "ok", payload: `{"event_id":"s","timestamp":1,"state":"ok"}`, state: StateOK},
		{name: "unknown state value", payload: `{"event_id":"s","timestamp":1,"state":"sleepy"}`, reason: `field state: "sleepy" is not one of`},
		{name: "missing state", payload: `{"event_id":"s","timestamp":1}`, reason: "missing field state"},
		{name: "state not a string", payload: `{"event_id":"s","timestamp":1,"state":true}`, reason: "field state must be a string"},
		{name: "missing event_id", payload: `{"timestamp":1,"state":"ok"}`, reason: "missing field event_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStateUpdate([]byte(tt.payload))
			if tt.reason != "" {
				assertReason(t, err, tt.reason)
				return
			}
			if err != nil {
				t.Fatalf("ParseStateUpdate: %v", err)
			}
			want := StateUpdateRequest{BaseMessage: BaseMessage{EventID: "s", Timestamp: 1}, State: tt.state}
			if got != want {
				t.Errorf("ParseStateUpdate = %+v, want %+v", got, want)
			}
		})
	}
}
