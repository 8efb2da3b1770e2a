package devicecontroller

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/tether-edge/tether/common/apis/devices/client"
	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/common/devicemsg"
	"github.com/tether-edge/tether/common/message"
)

// fakeIndex is an index over a fixed set of devices.
type fakeIndex map[key]*v1beta1.Device

func (f fakeIndex) device(k key) (*v1beta1.Device, bool) {
	d, ok := f[k]
	return d, ok
}

func TestAuthorize(t *testing.T) {
	idx := fakeIndex{{"ns", "d"}: dev("d", "n1", "m", "1"), {"ns", "free"}: dev("free", "", "m", "1")}
	tests := []struct {
		name   string
		node   string
		device string
		uid    string
		allow  bool
	}{
		{"bound to the node, right uid", "n1", "d", "uid-d", true},
		{"another node", "n2", "d", "uid-d", false},
		{"another uid", "n1", "d", "uid-old", false},
		{"no uid", "n1", "d", "", false},
		{"unknown device", "n1", "x", "uid-x", false},
		{"unbound device", "n1", "free", "uid-free", false},
		{"unbound device, empty node", "", "free", "uid-free", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sr := statusReport{node: tt.node, device: key{"ns", tt.device}}
			sr.report.UID = types.UID(tt.uid)
			err := authorize(idx, sr)
			if (err == nil) != tt.allow {
				t.Fatalf("authorize = %v, want allowed %v", err, tt.allow)
			}
			if err != nil && !errors.Is(err, errForbidden) {
				t.Errorf("denial %v does not wrap errForbidden", err)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	ok := message.Resource{Node: "n1", Namespace: "ns", Type: devicemsg.TypeDeviceStatus, Name: "d"}
	body, _ := json.Marshal(devicemsg.DeviceStatusReport{UID: "u", State: "online"})
	tests := []struct {
		name    string
		op      message.Operation
		res     message.Resource
		content []byte
		wantErr bool
	}{
		{"device status", message.OpUpdate, ok, body, false},
		{"insert", message.OpInsert, ok, body, true},
		{"another type", message.OpUpdate, message.Resource{Node: "n1", Namespace: "ns", Type: devicemsg.TypeDevice, Name: "d"}, body, true},
		{"no node", message.OpUpdate, ok.WithoutNode(), body, true},
		{"no name", message.OpUpdate, message.Resource{Node: "n1", Namespace: "ns", Type: devicemsg.TypeDeviceStatus}, body, true},
		{"bad json", message.OpUpdate, ok, []byte("{"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sr, err := decode(message.New("edge", Name, tt.op, tt.res, tt.content))
			if (err != nil) != tt.wantErr {
				t.Fatalf("decode = %+v, %v; want error %v", sr, err, tt.wantErr)
			}
			if err == nil && (sr.node != "n1" || sr.device != (key{"ns", "d"}) || sr.report.State != "online" || sr.report.UID != "u") {
				t.Errorf("decoded %+v", sr)
			}
		})
	}
}

func twin(name, reported, observed string) v1beta1.Twin {
	return v1beta1.Twin{PropertyName: name,
		Reported:        v1beta1.TwinProperty{Value: reported, Metadata: map[string]string{v1beta1.TwinMetadataType: "string"}},
		ObservedDesired: v1beta1.TwinProperty{Value: observed}}
}

func TestMergeStatus(t *testing.T) {
	withProps := func(status v1beta1.DeviceStatus) *v1beta1.Device {
		d := dev("d", "n1", "m", "1")
		d.Spec.Properties = []v1beta1.DeviceProperty{{Name: "temp"}, {Name: "heater"}}
		d.Status = status
		return d
	}
	cur := v1beta1.DeviceStatus{Twins: []v1beta1.Twin{twin("temp", "20", "")}, State: "online", LastOnlineTime: "t1"}
	tests := []struct {
		name    string
		dev     *v1beta1.Device
		report  devicemsg.DeviceStatusReport
		want    v1beta1.DeviceStatus
		changed bool
	}{
		{"empty status takes the report", withProps(v1beta1.DeviceStatus{}),
			devicemsg.DeviceStatusReport{Twins: []v1beta1.Twin{twin("temp", "20", "")}, State: "online", LastOnlineTime: "t1"},
			cur, true},
		{"same report: unchanged", withProps(cur),
			devicemsg.DeviceStatusReport{Twins: []v1beta1.Twin{twin("temp", "20", "")}, State: "online", LastOnlineTime: "t1"},
			cur, false},
		{"new value", withProps(cur),
			devicemsg.DeviceStatusReport{Twins: []v1beta1.Twin{twin("temp", "21", "")}, State: "online", LastOnlineTime: "t1"},
			v1beta1.DeviceStatus{Twins: []v1beta1.Twin{twin("temp", "21", "")}, State: "online", LastOnlineTime: "t1"}, true},
		{"undeclared and repeated properties dropped", withProps(v1beta1.DeviceStatus{}),
			devicemsg.DeviceStatusReport{Twins: []v1beta1.Twin{twin("bogus", "1", ""), twin("heater", "on", "on"), twin("heater", "off", "")}},
			v1beta1.DeviceStatus{Twins: []v1beta1.Twin{twin("heater", "on", "on")}}, true},
		{"state only", withProps(cur),
			devicemsg.DeviceStatusReport{Twins: []v1beta1.Twin{twin("temp", "20", "")}, State: "offline", LastOnlineTime: "t1"},
			v1beta1.DeviceStatus{Twins: []v1beta1.Twin{twin("temp", "20", "")}, State: "offline", LastOnlineTime: "t1"}, true},
		{"empty metadata equals none", withProps(v1beta1.DeviceStatus{Twins: []v1beta1.Twin{{PropertyName: "temp",
			Reported: v1beta1.TwinProperty{Value: "1", Metadata: map[string]string{}}}}}),
			devicemsg.DeviceStatusReport{Twins: []v1beta1.Twin{{PropertyName: "temp", Reported: v1beta1.TwinProperty{Value: "1"}}}},
			v1beta1.DeviceStatus{Twins: []v1beta1.Twin{{PropertyName: "temp", Reported: v1beta1.TwinProperty{Value: "1"}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := mergeStatus(tt.dev, tt.report)
			if changed != tt.changed || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mergeStatus = %+v, %v; want %+v, %v", got, changed, tt.want, tt.changed)
			}
		})
	}
}

// fakeBus records sends and responses.
type fakeBus struct {
	mu        sync.Mutex
	sent      []message.Message
	responses []message.Message
}

func (b *fakeBus) Receive(ctx context.Context, _ string) (message.Message, error) {
	<-ctx.Done()
	return message.Message{}, ctx.Err()
}
func (b *fakeBus) Send(_ context.Context, m message.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, m)
	return nil
}
func (b *fakeBus) SendResponse(_ context.Context, m message.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.responses = append(b.responses, m)
	return nil
}

// TestHandle drives upstream.handle against a fake apiserver: a denial
// writes nothing and is counted; an allowed report is written once, and
// the same report again writes nothing.
func TestHandle(t *testing.T) {
	d := dev("d", "n1", "m", "1")
	d.Spec.Properties = []v1beta1.DeviceProperty{{Name: "temp"}}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{Object: u}
	obj.SetAPIVersion("devices.kubeedge.io/v1beta1")
	obj.SetKind("Device")
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1beta1.DevicesGVR: "DeviceList", v1beta1.DeviceModelsGVR: "DeviceModelList"}, obj)
	var updates int
	dyn.PrependReactor("update", "devices", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" {
			updates++
		}
		return false, nil, nil
	})
	bus := &fakeBus{}
	o := Options{Bus: bus, Client: client.New(dyn), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Hub: "hub"}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	up := newUpstream(o, o.Logger, fakeIndex{{"ns", "d"}: d})
	report := func(node string) message.Message {
		body, _ := json.Marshal(devicemsg.DeviceStatusReport{UID: "uid-d", State: "online", LastOnlineTime: "t1",
			Twins: []v1beta1.Twin{twin("temp", "20", "")}})
		m := message.New("edge", Name, message.OpUpdate,
			message.Resource{Node: node, Namespace: "ns", Type: devicemsg.TypeDeviceStatus, Name: "d"}, body)
		m.Header.Sync = true
		return m
	}
	ctx := context.Background()

	up.handle(ctx, report("n2"))
	if up.denials.Load() != 1 || updates != 0 {
		t.Fatalf("from another node: denials %d, updates %d; want 1, 0", up.denials.Load(), updates)
	}
	up.handle(ctx, report("n1"))
	if up.denials.Load() != 1 || updates != 1 {
		t.Fatalf("from its node: denials %d, updates %d; want 1, 1", up.denials.Load(), updates)
	}
	got, err := o.Client.Devices("ns").Get(ctx, "d", metav1.GetOptions{})
	if err != nil || got.Status.State != "online" || len(got.Status.Twins) != 1 || got.Status.Twins[0].Reported.Value != "20" {
		t.Fatalf("status %+v, %v", got.Status, err)
	}
	up.handle(ctx, report("n1"))
	if updates != 1 {
		t.Errorf("the same report again wrote the status (%d updates)", updates)
	}
	up.handle(ctx, message.New("edge", Name, message.OpQuery, message.Resource{Node: "n1", Namespace: "ns", Type: devicemsg.TypeDevice, Name: "d"}, nil))

	wantOps := []message.Operation{message.OpError, message.OpResponse, message.OpResponse}
	bus.mu.Lock()
	defer bus.mu.Unlock()
	var ops []message.Operation
	for _, r := range bus.responses {
		ops = append(ops, r.Route.Operation)
	}
	if !reflect.DeepEqual(ops, wantOps) {
		t.Errorf("responses %v, want %v (the one-way query gets none)", ops, wantOps)
	}
}
