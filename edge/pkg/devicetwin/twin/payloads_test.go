package twin

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestEncoders(t *testing.T) {
	device := Device{
		ID: "default/thermo-1", Name: "thermo-1", Description: "a thermostat", State: StateOnline, LastOnline: "2023-11-14T22:13:20Z",
		Attributes: map[string]*Attribute{"vendor": {Value: "acme", Metadata: TypeMetadata{Type: TypeString}}},
		Twin:       map[string]*Twin{"heater": sample()["heater"]},
	}
	const pubDevice = `{"id":"default/thermo-1","name":"thermo-1","description":"a thermostat","state":"online","last_online":"2023-11-14T22:13:20Z",` +
		`"attributes":{"vendor":{"value":"acme","optional":false,"metadata":{"type":"string"}}},"twin":{"heater":` + pubHeater + `}}`
	tests := []struct {
		name string
		got  []byte
		want string
	}{{
		name: "twin/get/result",
		got:  EncodeGetResult("g1", sample(), now),
		want: `{"event_id":"g1","timestamp":1700000000000,"twin":{"heater":` + pubHeater + `,"temperature":` + pubTemp + `,"note":` + pubNote + `}}`,
	}, {
		name: "twin/get/result of an empty twin",
		got:  EncodeGetResult("g2", nil, now),
		want: `{"event_id":"g2","timestamp":1700000000000,"twin":{}}`,
	}, {
		name: "state/update/result",
		got:  EncodeStateResult("thermo-1", StateOnline, time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC), now),
		want: `{"event_id":"` + freshID + `","timestamp":1700000000000,"device":{"name":"thermo-1","state":"online","lastOnlineTime":"2023-11-14T22:13:20Z"}}`,
	}, {
		name: "state/update/result never online",
		got:  EncodeStateResult("thermo-1", StateOffline, time.Time{}, now),
		want: `{"event_id":"` + freshID + `","timestamp":1700000000000,"device":{"name":"thermo-1","state":"offline","lastOnlineTime":""}}`,
	}, {
		name: "membership/get/result",
		got:  EncodeMembershipGetResult("m1", []Device{device, {ID: "default/bare", Name: "bare"}}, now),
		want: `{"event_id":"m1","timestamp":1700000000000,"devices":[` + pubDevice + `,{"id":"default/bare","name":"bare"}]}`,
	}, {
		name: "membership/updated",
		got:  EncodeMembershipUpdated([]Device{device}, nil, now),
		want: `{"event_id":"` + freshID + `","timestamp":1700000000000,"added_devices":[` + pubDevice + `],"removed_devices":[]}`,
	}, {
		name: "device updated",
		got:  EncodeDeviceUpdated(map[string]*Attribute{"vendor": {Value: "acme", Optional: true, Metadata: TypeMetadata{Type: TypeString}}}, now),
		want: `{"event_id":"` + freshID + `","timestamp":1700000000000,"attributes":{"vendor":{"value":"acme","optional":true,"metadata":{"type":"string"}}}}`,
	}, {
		name: "error result with any code",
		got:  EncodeError("u1", CodeNotFound, `device "default/x" not found`, now),
		want: `{"event_id":"u1","timestamp":1700000000000,"code":404,"reason":"device \"default/x\" not found"}`,
	}, {
		name: "error result for a PayloadError is a 400 with its reason",
		got:  ErrorResultFor("u2", fmt.Errorf("update: %w", &PayloadError{Reason: "missing field twin"}), now),
		want: `{"event_id":"u2","timestamp":1700000000000,"code":400,"reason":"missing field twin"}`,
	}, {
		name: "error result for another error is a 500",
		got:  ErrorResultFor("u3", errors.New("store twin: disk full"), now),
		want: `{"event_id":"u3","timestamp":1700000000000,"code":500,"reason":"store twin: disk full"}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertJSON(t, tt.got, tt.want)
			assertNoVersions(t, tt.got)
		})
	}
	if device.Twin["heater"].ExpectedVersion.Cloud != 2 {
		t.Errorf("encoding stripped the caller's versions: %+v", device.Twin["heater"])
	}
}

// TestErrorResultForParseFailure is the module's path for a bad request:
// the error result carries the request's event id when it could be read.
func TestErrorResultForParseFailure(t *testing.T) {
	req, err := ParseUpdate([]byte(`{"event_id":"e9","timestamp":1,"twin":{"heater":{"actual":{"value":7}}}}`))
	if err == nil {
		t.Fatal("ParseUpdate accepted a number value")
	}
	assertJSON(t, ErrorResultFor(req.EventID, err, now),
		`{"event_id":"e9","timestamp":1700000000000,"code":400,"reason":"field twin.heater.actual.value must be a string, not number"}`)
}

func TestFreshEventIDsDiffer(t *testing.T) {
	a, b := freshBase(now), freshBase(now)
	if a.EventID == "" || a.EventID == b.EventID {
		t.Errorf("fresh event ids %q, %q; want two different non-empty ids", a.EventID, b.EventID)
	}
}

func TestNormalizeType(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"INT", TypeInt, true}, {"integer", TypeInt, true}, {"FLOAT", TypeFloat, true}, {"DOUBLE", TypeDouble, true},
		{"STRING", TypeString, true}, {"", TypeString, true}, {"BOOLEAN", TypeBoolean, true}, {"BYTES", TypeBytes, true},
		{"STREAM", TypeStream, true}, {"colour", "", false},
	}
	for _, tt := range tests {
		if got, ok := NormalizeType(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeType(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
