package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/tether-edge/tether/common/apis/devices/client"
	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/tests/testenv"
)

// The sample of REFERENCE.md ("Device API"): thermo-1 on edge-1.
const (
	sampleManifest = "common/apis/devices/v1beta1/testdata/reference-sample.yaml"
	sampleNS       = "default"
	sampleDevice   = "thermo-1"
	// deviceWait bounds each wait for an MQTT answer or a Device status.
	deviceWait = 30 * time.Second
)

// deviceTopic is the sample device's topic with suffix, e.g. "twin/update".
func deviceTopic(suffix string) string {
	return "$hw/events/device/" + sampleNS + "/" + sampleDevice + "/" + suffix
}

// Issue 7 end to end with the embedded broker inside edgecore.
func TestDevicesEmbeddedBroker(t *testing.T) {
	testDevices(t, "")
}

// Issue 7 end to end with EventBus a client of Mosquitto.
func TestDevicesMosquitto(t *testing.T) {
	testDevices(t, testenv.StartMosquitto(t).Addr)
}

// deviceSystem is kube-apiserver, cloudcore and an edgecore named after the
// sample's node, with an MQTT recorder on the edge's broker.
type deviceSystem struct {
	cloud   *testenv.Cloudcore
	edge    *testenv.Edgecore
	api     *client.Client
	devices *client.DeviceClient
	rec     *testenv.MQTTRecorder
}

// testDevices runs the scenario of issue 7 item 5 in one system whose
// EventBus uses the broker at externalMQTT, or its embedded one when empty.
// The steps build on each other and run in order.
func testDevices(t *testing.T, externalMQTT string) {
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	cloud := testenv.StartCloudcore(t, testenv.CloudcoreOptions{Bin: binDir, Kube: kube})
	edge := testenv.StartEdgecore(t, testenv.EdgecoreOptions{
		Bin: binDir, Cloud: cloud, NodeName: edgeNode, Token: cloud.JoinToken(t, time.Hour), ExternalMQTT: externalMQTT,
	})
	dyn, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	kube.WaitDefaultNamespace(t)
	// Subscribed before the Device exists: membership/updated is sent once.
	api := client.New(dyn)
	s := &deviceSystem{cloud: cloud, edge: edge, api: api, devices: api.Devices(sampleNS),
		rec: testenv.RecordMQTT(t, edge.MQTT, "$hw/events/#")}

	steps := []struct {
		name string
		run  func(*testing.T, *deviceSystem)
	}{
		{"the sample's device is announced on the edge", testMembership},
		{"a reported value reaches the Device's status", testReportedValue},
		{"a desired value changed in the Device makes a delta", testDesiredDelta},
		{"a state update reaches the Device's status", testStateUpdate},
		{"twin/get answers the twin", testTwinGet},
		{"malformed and oversized updates change nothing", testBadUpdates},
		{"an update for another device is not found", testUnknownDevice},
		{"reports made while cloudcore is down arrive after it returns", testOfflineReport},
	}
	for _, step := range steps {
		if !t.Run(step.name, func(t *testing.T) { step.run(t, s) }) {
			return // later steps need this one's outcome
		}
	}
	for _, m := range s.rec.Messages() {
		if bytes.Contains(m.Payload, []byte("_version")) {
			t.Errorf("a published payload carries version counters: %v", m)
		}
	}
}

func testMembership(t *testing.T, s *deviceSystem) {
	from := s.rec.Len()
	applyManifests(t, s.api, sampleManifest)
	s.rec.Wait(t, from, deviceWait, "membership/updated adding "+sampleDevice,
		onTopic("$hw/events/node/"+edgeNode+"/membership/updated", func(p payload) bool {
			for _, d := range p.AddedDevices {
				if d.Name == sampleDevice && d.ID == sampleNS+"/"+sampleDevice {
					return true
				}
			}
			return false
		}))
}

func testReportedValue(t *testing.T, s *deviceSystem) {
	from := s.rec.Len()
	testenv.MosquittoPub(t, s.edge.MQTT, deviceTopic("twin/update"),
		actualUpdate("e1", "temperature", "21.5", "float"))
	s.rec.Wait(t, from, deviceWait, "twin/update/result of e1",
		onTopic(deviceTopic("twin/update/result"), func(p payload) bool {
			return p.EventID == "e1" && p.Code == 0 && twinActual(p, "temperature", "21.5") == nil
		}))
	waitReported(t, s, "temperature", "21.5", "float")
}

func testDesiredDelta(t *testing.T, s *deviceSystem) {
	from := s.rec.Len()
	updateDevice(t, s.devices, func(d *v1beta1.Device) {
		for i := range d.Spec.Properties {
			if d.Spec.Properties[i].Name == "heater" {
				d.Spec.Properties[i].Desired.Value = "true"
			}
		}
	})
	s.rec.Wait(t, from, deviceWait, `twin/update/delta with heater "true"`,
		onTopic(deviceTopic("twin/update/delta"), func(p payload) bool { return p.Delta["heater"] == "true" }))
}

func testStateUpdate(t *testing.T, s *deviceSystem) {
	from := s.rec.Len()
	testenv.MosquittoPub(t, s.edge.MQTT, deviceTopic("state/update"),
		fmt.Appendf(nil, `{"event_id":"s1","timestamp":%d,"state":"online"}`, time.Now().UnixMilli()))
	s.rec.Wait(t, from, deviceWait, "state/update/result online",
		onTopic(deviceTopic("state/update/result"), func(p payload) bool {
			return p.Device != nil && p.Device.State == "online" && p.Device.LastOnlineTime != ""
		}))
	waitDevice(t, s, "status.state online with a lastOnlineTime", func(d *v1beta1.Device) error {
		if d.Status.State != "online" || d.Status.LastOnlineTime == "" {
			return fmt.Errorf("state %q lastOnlineTime %q", d.Status.State, d.Status.LastOnlineTime)
		}
		return nil
	})
}

func testTwinGet(t *testing.T, s *deviceSystem) {
	p := twinGet(t, s, "g1")
	if err := twinActual(p, "temperature", "21.5"); err != nil {
		t.Error(err)
	}
	if h := p.Twin["heater"]; h == nil || h.Expected == nil || h.Expected.Value != "true" {
		t.Errorf("heater in twin/get/result: %s", asJSON(h))
	}
}

// testBadUpdates publishes malformed JSON, a value over 512 bytes and a
// property name over 128 bytes: each gets a 400 result, and twin/get
// answers the same twin before and after.
func testBadUpdates(t *testing.T, s *deviceSystem) {
	before := twinGet(t, s, "g2")
	now := time.Now().UnixMilli()
	for _, bad := range []struct{ name, payload string }{
		{"malformed JSON", fmt.Sprintf(`{"event_id":"bad1","timestamp":%d,"twin":{"temperature":`, now)},
		{"a value over 512 bytes", string(actualUpdate("bad2", "temperature", strings.Repeat("9", 513), "float"))},
		{"a property name over 128 bytes", string(actualUpdate("bad3", strings.Repeat("p", 129), "1", "string"))},
	} {
		from := s.rec.Len()
		testenv.MosquittoPub(t, s.edge.MQTT, deviceTopic("twin/update"), []byte(bad.payload))
		s.rec.Wait(t, from, deviceWait, "an error result for "+bad.name,
			onTopic(deviceTopic("twin/update/result"), func(p payload) bool { return p.Code == 400 && p.Reason != "" }))
	}
	if after := twinGet(t, s, "g3"); asJSON(after.Twin) != asJSON(before.Twin) {
		t.Errorf("the twin changed:\nbefore %s\nafter  %s", asJSON(before.Twin), asJSON(after.Twin))
	}
}

func testUnknownDevice(t *testing.T, s *deviceSystem) {
	const topic = "$hw/events/device/" + sampleNS + "/not-on-this-node/twin/update"
	from := s.rec.Len()
	testenv.MosquittoPub(t, s.edge.MQTT, topic, actualUpdate("u1", "temperature", "1", "float"))
	s.rec.Wait(t, from, deviceWait, "a 404 result", onTopic(topic+"/result", func(p payload) bool { return p.Code == 404 }))
}

// testOfflineReport stops cloudcore, reports a new value (the edge answers
// without the cloud) and starts cloudcore again: the value reaches the
// Device's status.
func testOfflineReport(t *testing.T, s *deviceSystem) {
	if err := s.cloud.Process.Stop(); err != nil {
		t.Fatal(err)
	}
	from := s.rec.Len()
	testenv.MosquittoPub(t, s.edge.MQTT, deviceTopic("twin/update"),
		actualUpdate("e2", "temperature", "23.25", "float"))
	s.rec.Wait(t, from, deviceWait, "twin/update/result of e2 with cloudcore down",
		onTopic(deviceTopic("twin/update/result"), func(p payload) bool {
			return p.EventID == "e2" && p.Code == 0 && twinActual(p, "temperature", "23.25") == nil
		}))
	s.cloud.Restart(t)
	waitReported(t, s, "temperature", "23.25", "float")
}

// payload holds every field of the $hw/events payloads the test reads
// (REFERENCE.md "MQTT topics and payloads").
type payload struct {
	EventID      string              `json:"event_id"`
	Timestamp    int64               `json:"timestamp"`
	Code         int                 `json:"code"`
	Reason       string              `json:"reason"`
	Twin         map[string]*msgTwin `json:"twin"`
	Delta        map[string]string   `json:"delta"`
	Device       *deviceState        `json:"device"`
	AddedDevices []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"added_devices"`
}

type msgTwin struct {
	Expected *twinValue `json:"expected"`
	Actual   *twinValue `json:"actual"`
	Optional bool       `json:"optional"`
	Metadata struct {
		Type string `json:"type"`
	} `json:"metadata"`
}

type twinValue struct {
	Value    string `json:"value"`
	Metadata struct {
		Timestamp int64 `json:"timestamp"`
	} `json:"metadata"`
}

type deviceState struct {
	Name           string `json:"name"`
	State          string `json:"state"`
	LastOnlineTime string `json:"lastOnlineTime"`
}

// onTopic matches a message on topic whose payload decodes and passes ok.
// (A wait that times out lists every message it saw.)
func onTopic(topic string, ok func(payload) bool) func(testenv.MQTTMessage) bool {
	return func(m testenv.MQTTMessage) bool {
		if m.Topic != topic {
			return false
		}
		var p payload
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			return false
		}
		return ok(p)
	}
}

// actualUpdate is a twin/update payload reporting value for property.
func actualUpdate(eventID, property, value, typ string) []byte {
	return fmt.Appendf(nil, `{"event_id":%q,"timestamp":%d,"twin":{%q:{"actual":{"value":%q},"metadata":{"type":%q}}}}`,
		eventID, time.Now().UnixMilli(), property, value, typ)
}

// twinActual checks that p's twin has property with actual value want.
func twinActual(p payload, property, want string) error {
	if tw := p.Twin[property]; tw == nil || tw.Actual == nil || tw.Actual.Value != want {
		return fmt.Errorf("%s in twin: %s, want actual %q", property, asJSON(p.Twin[property]), want)
	}
	return nil
}

// twinGet asks for the sample's twin and returns the answer.
func twinGet(t *testing.T, s *deviceSystem, eventID string) payload {
	t.Helper()
	from := s.rec.Len()
	testenv.MosquittoPub(t, s.edge.MQTT, deviceTopic("twin/get"),
		fmt.Appendf(nil, `{"event_id":%q,"timestamp":%d}`, eventID, time.Now().UnixMilli()))
	m := s.rec.Wait(t, from, deviceWait, "twin/get/result of "+eventID,
		onTopic(deviceTopic("twin/get/result"), func(p payload) bool {
			return p.EventID == eventID && p.Code == 0 && p.Twin != nil
		}))
	var p payload
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitReported waits until the sample Device's status reports value for
// property, with its type and a timestamp.
func waitReported(t *testing.T, s *deviceSystem, property, value, typ string) {
	t.Helper()
	waitDevice(t, s, fmt.Sprintf("status.twins %s reported %q", property, value), func(d *v1beta1.Device) error {
		for _, tw := range d.Status.Twins {
			if tw.PropertyName != property {
				continue
			}
			r := tw.Reported
			if r.Value != value || r.Metadata[v1beta1.TwinMetadataType] != typ || r.Metadata[v1beta1.TwinMetadataTimestamp] == "" {
				return fmt.Errorf("reported %s", asJSON(r))
			}
			return nil
		}
		return fmt.Errorf("no twin for %s in %s", property, asJSON(d.Status))
	})
}

// waitDevice waits until the sample Device passes ok.
func waitDevice(t *testing.T, s *deviceSystem, what string, ok func(*v1beta1.Device) error) {
	t.Helper()
	testenv.WaitFor(t, deviceWait, "Device "+sampleDevice+" "+what, func() error {
		d, err := s.devices.Get(context.Background(), sampleDevice, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return ok(d)
	})
}

// updateDevice changes the sample Device's spec as a user would, retrying
// when the controller's status writes got in between.
func updateDevice(t *testing.T, devices *client.DeviceClient, change func(*v1beta1.Device)) {
	t.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := devices.Get(ctx, sampleDevice, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(d)
		_, err = devices.Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("update Device %s: %v", sampleDevice, err)
	}
}

// applyManifests creates every DeviceModel and Device in the repository's
// YAML file, in order, as `kubectl create -f` would.
func applyManifests(t *testing.T, api *client.Client, file string) {
	t.Helper()
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join("..", "..", file))
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1beta1.DecodeManifest(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, dm := range m.Models {
		if _, err := api.DeviceModels(dm.Namespace).Create(ctx, dm, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create DeviceModel %s: %v", dm.Name, err)
		}
	}
	for _, d := range m.Devices {
		if _, err := api.Devices(d.Namespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create Device %s: %v", d.Name, err)
		}
	}
}

func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}
