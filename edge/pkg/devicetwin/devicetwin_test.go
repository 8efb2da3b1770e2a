package devicetwin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tether-edge/tether/common/devicemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/devicetwin/twin"
)

const (
	devTopic        = "$hw/events/device/default/thermo-1/"
	membershipTopic = "$hw/events/node/" + testNode + "/membership/updated"
)

// arrive starts the module and brings the sample model and device; what
// the arrival publishes and reports is consumed.
func arrive(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.start(nil)
	h.loaded()
	h.putModel(sampleModel())
	h.putDevice(sampleDevice(1, "false"))
	h.published(membershipTopic)
	h.published(devTopic + "twin/update/document")
	h.published(devTopic + "twin/update/delta")
	h.status("thermo-1", func(devicemsg.DeviceStatusReport) bool { return true })
	return h
}

// storedTwin reads a property's twin from the store.
func storedTwin(t *testing.T, h *harness, name string) *twin.Twin {
	t.Helper()
	devs, err := h.store.Devices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Namespace == "default" && d.Name == "thermo-1" {
			b, ok := d.Twins[name]
			if !ok {
				return nil
			}
			var tw twin.Twin
			if err := json.Unmarshal(b, &tw); err != nil {
				t.Fatal(err)
			}
			return &tw
		}
	}
	t.Fatal("thermo-1 is not in the store")
	return nil
}

func TestDeviceArrival(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	h.loaded()
	h.putModel(sampleModel())
	h.putDevice(sampleDevice(1, "false"))

	m := h.published(membershipTopic)
	added := m["added_devices"].([]any)
	if len(added) != 1 || len(m["removed_devices"].([]any)) != 0 {
		t.Fatalf("membership/updated = %v, want thermo-1 added", m)
	}
	dev := added[0].(map[string]any)
	if dev["id"] != "default/thermo-1" || dev["name"] != "thermo-1" {
		t.Errorf("added device = %v, want id default/thermo-1, name thermo-1", dev)
	}
	heater := dev["twin"].(map[string]any)["heater"].(map[string]any)
	if heater["expected"].(map[string]any)["value"] != "false" || heater["metadata"].(map[string]any)["type"] != "boolean" {
		t.Errorf("heater twin = %v, want expected false, type boolean (from the model)", heater)
	}
	if _, ok := heater["expected_version"]; ok {
		t.Errorf("published twin carries versions: %v", heater)
	}
	delta := h.published(devTopic + "twin/update/delta")
	if d := delta["delta"].(map[string]any); d["heater"] != "false" {
		t.Errorf("delta = %v, want heater false (expected with no actual)", d)
	}
	r := h.status("thermo-1", func(devicemsg.DeviceStatusReport) bool { return true })
	if r.UID != "d1" || len(r.Twins) != 2 || r.Twins[0].PropertyName != "heater" || r.Twins[0].ObservedDesired.Value != "false" {
		t.Errorf("first status = %+v, want uid d1 and heater observed desired false", r)
	}
	if tw := storedTwin(t, h, "temperature"); tw == nil || tw.Metadata.Type != twin.TypeFloat {
		t.Errorf("stored temperature twin = %+v, want type float", tw)
	}
}

func TestTwinUpdateFromTheEdge(t *testing.T) {
	h := arrive(t)
	h.mqtt(devTopic+"twin/update", `{"event_id":"e1","timestamp":1,"twin":{"temperature":{"actual":{"value":"21.5","metadata":{"timestamp":1700000000001}},"metadata":{"type":"float"}}}}`)

	res := h.published(devTopic + "twin/update/result")
	if res["event_id"] != "e1" {
		t.Errorf("result event_id = %v, want e1", res["event_id"])
	}
	temp := res["twin"].(map[string]any)["temperature"].(map[string]any)
	if temp["actual"].(map[string]any)["value"] != "21.5" {
		t.Errorf("result twin = %v, want actual 21.5", temp)
	}
	doc := h.published(devTopic + "twin/update/document")
	if _, ok := doc["twin"].(map[string]any)["temperature"]; !ok {
		t.Errorf("document = %v, want temperature", doc)
	}
	if tw := storedTwin(t, h, "temperature"); tw == nil || tw.Actual == nil || tw.Actual.Value != "21.5" {
		t.Errorf("stored temperature = %+v, want actual 21.5", tw)
	}
	h.status("thermo-1", func(r devicemsg.DeviceStatusReport) bool {
		for _, tw := range r.Twins {
			if tw.PropertyName == "temperature" && tw.Reported.Value == "21.5" &&
				tw.Reported.Metadata["type"] == "float" && tw.Reported.Metadata["timestamp"] == "1700000000001" {
				return true
			}
		}
		return false
	})
}

func TestBadRequestsChangeNothing(t *testing.T) {
	long := strings.Repeat("x", twin.MaxValueBytes+1)
	cases := []struct {
		name, topic, payload string
		code                 float64
	}{
		{"malformed JSON", devTopic + "twin/update", `{"event_id":"b1","timestamp":1,"twin":`, 400},
		{"value too long", devTopic + "twin/update", `{"event_id":"b2","timestamp":1,"twin":{"temperature":{"actual":{"value":"` + long + `"}}}}`, 400},
		{"not a float", devTopic + "twin/update", `{"event_id":"b3","timestamp":1,"twin":{"temperature":{"actual":{"value":"warm"}}}}`, 400},
		{"bad state", devTopic + "state/update", `{"event_id":"b4","timestamp":1,"state":"asleep"}`, 400},
		{"bad get", devTopic + "twin/get", `[]`, 400},
		{"unknown device", "$hw/events/device/default/nope/twin/update", `{"event_id":"b5","timestamp":1,"twin":{}}`, 404},
		{"unknown device get", "$hw/events/device/other/thermo-1/twin/get", `{"event_id":"b6","timestamp":1}`, 404},
	}
	h := arrive(t)
	h.mqtt(devTopic+"twin/update", `{"event_id":"e1","timestamp":1,"twin":{"temperature":{"actual":{"value":"21.5"}}}}`)
	h.published(devTopic + "twin/update/result")
	h.published(devTopic + "twin/update/document")
	h.published(devTopic + "twin/update/delta")
	h.status("thermo-1", func(devicemsg.DeviceStatusReport) bool { return true })
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			h.mqtt(c.topic, c.payload)
			res := h.published(c.topic + "/result")
			if res["code"] != c.code || res["reason"] == "" {
				t.Fatalf("result = %v, want code %v with a reason", res, c.code)
			}
		})
	}
	h.t = t
	if tw := storedTwin(t, h, "temperature"); tw.Actual.Value != "21.5" {
		t.Errorf("stored temperature after bad requests = %+v, want 21.5", tw.Actual)
	}
	h.quiet("default/thermo-1", "document, delta or status after refused requests", func(m message.Message) bool {
		topic, _, ok := publishRequest(m)
		return m.Route.Destination == sink || ok && (strings.HasSuffix(topic, "/document") || strings.HasSuffix(topic, "/delta"))
	})
}

func TestStoreFailureIsA500AndChangesNothing(t *testing.T) {
	h := newHarness(t)
	fs := &failingStore{Store: h.store}
	h.start(fs)
	h.loaded()
	h.putModel(sampleModel())
	h.putDevice(sampleDevice(1, "false"))
	h.published(membershipTopic)

	fs.setFail(true)
	h.mqtt(devTopic+"twin/update", `{"event_id":"e1","timestamp":1,"twin":{"temperature":{"actual":{"value":"21.5"}}}}`)
	if res := h.published(devTopic + "twin/update/result"); res["code"] != float64(500) || !strings.Contains(res["reason"].(string), "disk full") {
		t.Fatalf("result = %v, want 500 naming the store's error", res)
	}
	fs.setFail(false)
	h.mqtt(devTopic+"twin/get", `{"event_id":"g1","timestamp":1}`)
	got := h.published(devTopic + "twin/get/result")
	if _, ok := got["twin"].(map[string]any)["temperature"].(map[string]any)["actual"]; ok {
		t.Errorf("twin after a failed store = %v, want no actual temperature", got)
	}
}

func TestDesiredChangeFromTheCloud(t *testing.T) {
	h := arrive(t)
	h.putDevice(sampleDevice(2, "true"))
	delta := h.published(devTopic + "twin/update/delta")
	if d := delta["delta"].(map[string]any); d["heater"] != "true" {
		t.Fatalf("delta = %v, want heater true", d)
	}
	h.status("thermo-1", func(r devicemsg.DeviceStatusReport) bool {
		return len(r.Twins) > 0 && r.Twins[0].ObservedDesired.Value == "true"
	})

	// The edge sets the expected value; the same Device sent again (a
	// resync) and an older one leave it.
	h.mqtt(devTopic+"twin/update", `{"event_id":"e2","timestamp":1,"twin":{"heater":{"expected":{"value":"false"}}}}`)
	h.published(devTopic + "twin/update/result")
	h.putDevice(sampleDevice(2, "true"))
	h.putDevice(sampleDevice(1, "true"))
	h.mqtt(devTopic+"twin/get", `{"event_id":"g1","timestamp":1}`)
	got := h.published(devTopic + "twin/get/result")
	heater := got["twin"].(map[string]any)["heater"].(map[string]any)
	if v := heater["expected"].(map[string]any)["value"]; v != "false" {
		t.Errorf("heater expected after a resent and an older Device = %v, want the edge's false", v)
	}
	if tw := storedTwin(t, h, "heater"); tw.Expected.Value != "false" {
		t.Errorf("stored heater expected = %v, want false", tw.Expected.Value)
	}
}

func TestStateUpdate(t *testing.T) {
	h := arrive(t)
	h.setNow(h.clock().Add(time.Hour))
	h.mqtt(devTopic+"state/update", `{"event_id":"s1","timestamp":1,"state":"ONLINE"}`)
	res := h.published(devTopic + "state/update/result")
	dev := res["device"].(map[string]any)
	want := h.clock().UTC().Format(time.RFC3339)
	if dev["name"] != "thermo-1" || dev["state"] != "online" || dev["lastOnlineTime"] != want {
		t.Fatalf("state result device = %v, want thermo-1 online since %s", dev, want)
	}
	h.status("thermo-1", func(r devicemsg.DeviceStatusReport) bool {
		return r.State == "online" && r.LastOnlineTime == want
	})
	devs, err := h.store.Devices(context.Background())
	if err != nil || len(devs) != 1 || devs[0].State != "online" || devs[0].LastOnline != want {
		t.Fatalf("stored devices = %+v, %v; want thermo-1 online since %s", devs, err, want)
	}

	// offline keeps the last online time.
	h.mqtt(devTopic+"state/update", `{"event_id":"s2","timestamp":1,"state":"offline"}`)
	if dev := h.published(devTopic + "state/update/result")["device"].(map[string]any); dev["lastOnlineTime"] != want {
		t.Errorf("offline result = %v, want lastOnlineTime still %s", dev, want)
	}
}

func TestMembershipGet(t *testing.T) {
	h := arrive(t)
	h.mqtt("$hw/events/node/other-node/membership/get", `{"event_id":"x","timestamp":1}`)
	h.mqtt("$hw/events/node/"+testNode+"/membership/get", `{"event_id":"m1","timestamp":1}`)
	res := h.published("$hw/events/node/" + testNode + "/membership/get/result")
	devs := res["devices"].([]any)
	if res["event_id"] != "m1" || len(devs) != 1 || devs[0].(map[string]any)["id"] != "default/thermo-1" {
		t.Fatalf("membership/get/result = %v, want m1 with thermo-1", res)
	}
	attrs := devs[0].(map[string]any)["attributes"].(map[string]any)
	if attrs["protocol"].(map[string]any)["value"] != "modbus" || attrs["deviceModel"].(map[string]any)["value"] != "thermo-model" {
		t.Errorf("attributes = %v, want protocol modbus, deviceModel thermo-model", attrs)
	}
	for _, m := range h.seen {
		if topic, _, _ := publishRequest(m); strings.Contains(topic, "other-node") {
			t.Errorf("answered another node's membership/get: %s", topic)
		}
	}
}

func TestDeviceLeaves(t *testing.T) {
	h := arrive(t)
	h.cloud(message.OpDelete, devicemsg.TypeDevice, sampleDevice(1, ""), nil)
	m := h.published(membershipTopic)
	if removed := m["removed_devices"].([]any); len(removed) != 1 || removed[0].(map[string]any)["id"] != "default/thermo-1" {
		t.Fatalf("membership/updated = %v, want thermo-1 removed", m)
	}
	devs, err := h.store.Devices(context.Background())
	if err != nil || len(devs) != 0 {
		t.Fatalf("stored devices after the delete = %+v, %v; want none", devs, err)
	}
	h.mqtt(devTopic+"twin/get", `{"event_id":"g1","timestamp":1}`)
	if res := h.published(devTopic + "twin/get/result"); res["code"] != float64(404) {
		t.Errorf("get after the delete = %v, want 404", res)
	}
}

func TestModelAfterDeviceRetypes(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	h.loaded()
	h.putDevice(sampleDevice(1, "false"))
	h.published(membershipTopic)
	h.published(devTopic + "twin/update/document")
	h.mqtt(devTopic+"twin/update", `{"event_id":"e1","timestamp":1,"twin":{"temperature":{"actual":{"value":"warm"}}}}`)
	h.published(devTopic + "twin/update/result")
	h.published(devTopic + "twin/update/document")
	if tw := storedTwin(t, h, "temperature"); tw.Metadata.Type != twin.TypeString {
		t.Fatalf("temperature without a model is %q, want string", tw.Metadata.Type)
	}

	h.putModel(sampleModel())
	doc := h.published(devTopic + "twin/update/document")
	cur := doc["twin"].(map[string]any)["temperature"].(map[string]any)["current"].(map[string]any)
	if cur["metadata"].(map[string]any)["type"] != "float" {
		t.Errorf("document after the model = %v, want temperature typed float", doc)
	}
}

func TestRestartKeepsTwinsAndPrunesDeletedDevices(t *testing.T) {
	h := arrive(t)
	other := sampleDevice(1, "")
	other.Name, other.UID = "thermo-2", "d2"
	h.putDevice(other)
	h.published(membershipTopic)
	h.mqtt(devTopic+"twin/update", `{"event_id":"e1","timestamp":1,"twin":{"temperature":{"actual":{"value":"21.5"}}}}`)
	h.published(devTopic + "twin/update/result")
	h.stop()

	// Restart: MetaManager replays thermo-1 (thermo-2 was deleted while
	// edgecore was down), then OpLoaded.
	h.start(nil)
	h.putModel(sampleModel())
	h.putDevice(sampleDevice(1, "false"))
	h.loaded()
	m := h.published(membershipTopic)
	if removed := m["removed_devices"].([]any); len(removed) != 1 || removed[0].(map[string]any)["name"] != "thermo-2" || len(m["added_devices"].([]any)) != 0 {
		t.Fatalf("membership/updated after restart = %v, want only thermo-2 removed", m)
	}
	h.mqtt(devTopic+"twin/get", `{"event_id":"g1","timestamp":1}`)
	got := h.published(devTopic + "twin/get/result")
	if v := got["twin"].(map[string]any)["temperature"].(map[string]any)["actual"].(map[string]any)["value"]; v != "21.5" {
		t.Errorf("temperature after restart = %v, want 21.5", v)
	}
	// Each device is reported once after the restart, in case its last
	// report was not kept.
	h.status("thermo-1", func(r devicemsg.DeviceStatusReport) bool {
		return len(r.Twins) == 2 && r.Twins[1].Reported.Value == "21.5"
	})
}

func TestRecreatedDeviceStartsAfresh(t *testing.T) {
	h := arrive(t)
	h.putDevice(sampleDevice(5, "true"))
	h.published(devTopic + "twin/update/delta")

	again := sampleDevice(1, "false")
	again.UID = "d9"
	again.Spec.Properties = again.Spec.Properties[1:] // heater only
	h.putDevice(again)
	h.status("thermo-1", func(r devicemsg.DeviceStatusReport) bool {
		return r.UID == "d9" && len(r.Twins) == 1 && r.Twins[0].ObservedDesired.Value == "false"
	})
	if tw := storedTwin(t, h, "temperature"); tw != nil {
		t.Errorf("the earlier device's temperature is still stored: %+v", tw)
	}
}

func TestUploadsAreCountedNotAnswered(t *testing.T) {
	h := arrive(t)
	h.mqtt("$hw/events/upload/line-1", `anything`)
	h.quiet("default/thermo-1", "answer to an upload", func(m message.Message) bool {
		topic, _, _ := publishRequest(m)
		return strings.HasPrefix(topic, "$hw/events/upload")
	})
}

func TestParseTopic(t *testing.T) {
	cases := []struct {
		topic  string
		action action
		device key
		node   string
	}{
		{"$hw/events/device/ns/d/twin/update", actionTwinUpdate, key{"ns", "d"}, ""},
		{"$hw/events/device/ns/d/twin/get", actionTwinGet, key{"ns", "d"}, ""},
		{"$hw/events/device/ns/d/state/update", actionStateUpdate, key{"ns", "d"}, ""},
		{"$hw/events/node/n1/membership/get", actionMembershipGet, key{}, "n1"},
		{"$hw/events/upload/a/b", actionUpload, key{}, ""},
		{"$hw/events/device/ns/d/twin/delete", actionNone, key{}, ""},
		{"$hw/events/device/ns/twin/update", actionNone, key{}, ""},
		{"$hw/events/device//d/twin/update", actionNone, key{}, ""},
		{"$hw/events/node/n1/membership/updated", actionNone, key{}, ""},
	}
	for _, c := range cases {
		r, ok := parseTopic(c.topic)
		if ok != (c.action != actionNone) || ok && (r.action != c.action || r.device != c.device || r.node != c.node) {
			t.Errorf("parseTopic(%q) = %v %+v %q, %v; want %v %+v %q", c.topic, r.action, r.device, r.node, ok, c.action, c.device, c.node)
		}
	}
}

func TestReporterSendsEachMarkedDeviceOnceWithItsLatest(t *testing.T) {
	r := newReporter()
	for range 3 {
		r.mark(key{"ns", "a"})
	}
	r.mark(key{"ns", "b"})
	if got := r.take(); len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		t.Fatalf("take = %v, want a and b once each", got)
	}
	r.mark(key{"ns", "c"})
	r.forget(key{"ns", "c"})
	if got := r.take(); len(got) != 0 {
		t.Fatalf("take after forget = %v, want none", got)
	}
}
