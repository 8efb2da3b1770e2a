package devicetwin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/common/devicemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/eventbus"
	"github.com/tether-edge/tether/edge/pkg/metamanager"
)

const (
	testNode = "edge-1"
	sink     = "metamanager"
)

// fakeBus feeds the module what tests send it and records what it sends.
type fakeBus struct {
	in  chan message.Message
	out chan message.Message
}

func newFakeBus() *fakeBus {
	return &fakeBus{in: make(chan message.Message, 256), out: make(chan message.Message, 4096)}
}

func (b *fakeBus) Receive(ctx context.Context, module string) (message.Message, error) {
	select {
	case m := <-b.in:
		return m, nil
	case <-ctx.Done():
		return message.Message{}, ctx.Err()
	}
}

func (b *fakeBus) Send(ctx context.Context, m message.Message) error {
	select {
	case b.out <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// failingStore fails every write while fail is set.
type failingStore struct {
	Store
	mu   sync.Mutex
	fail bool
}

func (s *failingStore) setFail(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = v
}

func (s *failingStore) PutDevice(ctx context.Context, c metamanager.DeviceChange) error {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail {
		return errors.New("disk full")
	}
	return s.Store.PutDevice(ctx, c)
}

// harness runs a DeviceTwin on a fake bus and a real store.
type harness struct {
	t     *testing.T
	bus   *fakeBus
	store *metamanager.Store
	path  string
	// nowMs is the module's clock, in ms.
	nowMs atomic.Int64
	// seen holds what the module sent and a wait has not consumed yet.
	seen []message.Message
	stop func()
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "edgecore.db")}
	h.setNow(time.UnixMilli(1_700_000_000_000))
	h.open()
	return h
}

func (h *harness) clock() time.Time   { return time.UnixMilli(h.nowMs.Load()) }
func (h *harness) setNow(t time.Time) { h.nowMs.Store(t.UnixMilli()) }

// open opens the store at h.path; Cleanup closes it.
func (h *harness) open() {
	h.t.Helper()
	s, err := metamanager.OpenStore(metamanager.StoreOptions{Path: h.path, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		h.t.Fatalf("open store: %v", err)
	}
	h.store = s
	h.t.Cleanup(func() { s.Close() })
}

// start runs the module with store (h.store when nil) until stopped or
// the test ends.
func (h *harness) start(store Store) {
	h.t.Helper()
	if store == nil {
		store = h.store
	}
	h.bus, h.seen = newFakeBus(), nil
	dt, err := New(Options{
		Bus: h.bus, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NodeName: testNode, EventBus: eventbus.Name, StatusSink: sink, Workers: 4,
		Now: h.clock,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dt.Start(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("Start: %v", err)
			}
		})
	}
	h.t.Cleanup(h.stop)
}

// cloud sends a change as MetaManager tells its subscribers.
func (h *harness) cloud(op message.Operation, typ string, obj metav1.Object, content any) {
	h.t.Helper()
	var b []byte
	if content != nil {
		var err error
		if b, err = json.Marshal(content); err != nil {
			h.t.Fatal(err)
		}
	}
	res := message.Resource{Namespace: obj.GetNamespace(), Type: typ, Name: obj.GetName()}
	h.bus.in <- message.New(metamanager.Name, Name, op, res, b)
}

func (h *harness) putDevice(d *v1beta1.Device) {
	h.cloud(message.OpUpdate, devicemsg.TypeDevice, d, d)
}

func (h *harness) putModel(m *v1beta1.DeviceModel) {
	h.cloud(message.OpUpdate, devicemsg.TypeDeviceModel, m, m)
}

func (h *harness) loaded() {
	h.bus.in <- message.New(metamanager.Name, Name, metamanager.OpLoaded, message.Resource{}, nil)
}

// mqtt delivers a publication as EventBus does.
func (h *harness) mqtt(topic, payload string) {
	h.bus.in <- eventbus.NewPublication(Name, topic, []byte(payload))
}

// waitFor returns the first message the module sent (and no wait took yet)
// that match accepts, within 5s.
func (h *harness) waitFor(what string, match func(message.Message) bool) message.Message {
	h.t.Helper()
	deadline := time.After(5 * time.Second)
	for i := 0; ; i++ {
		for ; i < len(h.seen); i++ {
			if m := h.seen[i]; match(m) {
				h.seen = append(h.seen[:i], h.seen[i+1:]...)
				return m
			}
		}
		select {
		case m := <-h.bus.out:
			h.seen = append(h.seen, m)
			i--
		case <-deadline:
			h.t.Fatalf("no %s within 5s; sent meanwhile: %s", what, describe(h.seen))
			return message.Message{}
		}
	}
}

// published waits for a publication on topic and decodes its payload into
// a map.
func (h *harness) published(topic string) map[string]any {
	h.t.Helper()
	m := h.waitFor("publication on "+topic, func(m message.Message) bool {
		got, _, ok := publishRequest(m)
		return ok && got == topic
	})
	_, payload, _ := publishRequest(m)
	var v map[string]any
	if err := json.Unmarshal(payload, &v); err != nil {
		h.t.Fatalf("payload on %s is not a JSON object: %v: %s", topic, err, payload)
	}
	return v
}

// status waits for a device status to the sink satisfying ok.
func (h *harness) status(name string, ok func(devicemsg.DeviceStatusReport) bool) devicemsg.DeviceStatusReport {
	h.t.Helper()
	var r devicemsg.DeviceStatusReport
	h.waitFor("status of "+name, func(m message.Message) bool {
		res := m.Route.Resource
		if m.Route.Destination != sink || res.Type != devicemsg.TypeDeviceStatus || res.Name != name || m.Route.Group != devicemsg.Group {
			return false
		}
		var got devicemsg.DeviceStatusReport
		if json.Unmarshal(m.Content, &got) != nil || !ok(got) {
			return false
		}
		r = got
		return true
	})
	return r
}

// quiet fails if the module sends a message matching match while it
// handles a twin/get sent after everything before (which it answers last,
// the device's messages being handled in order).
func (h *harness) quiet(device, what string, match func(message.Message) bool) {
	h.t.Helper()
	h.mqtt("$hw/events/device/"+device+"/twin/get", `{"event_id":"fence","timestamp":1}`)
	for {
		m := h.waitFor("the fence's get result", func(message.Message) bool { return true })
		if match(m) {
			h.t.Fatalf("unexpected %s: %s", what, describe([]message.Message{m}))
		}
		if topic, payload, ok := publishRequest(m); ok && topic == "$hw/events/device/"+device+"/twin/get/result" && strings.Contains(string(payload), `"fence"`) {
			return
		}
	}
}

func describe(ms []message.Message) string {
	out := ""
	for _, m := range ms {
		if topic, payload, ok := publishRequest(m); ok {
			out += "\n  publish " + topic + " " + string(payload)
			continue
		}
		out += "\n  " + string(m.Route.Operation) + " " + m.Route.Resource.String() + " → " + m.Route.Destination + " " + string(m.Content)
	}
	return out
}

func sampleModel() *v1beta1.DeviceModel {
	return &v1beta1.DeviceModel{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "thermo-model", UID: "m1"},
		Spec: v1beta1.DeviceModelSpec{Protocol: "modbus", Properties: []v1beta1.ModelProperty{
			{Name: "temperature", Type: "FLOAT", AccessMode: "ReadOnly", Unit: "celsius"},
			{Name: "heater", Type: "BOOLEAN", AccessMode: "ReadWrite"},
		}},
	}
}

func sampleDevice(generation int64, heater string) *v1beta1.Device {
	return &v1beta1.Device{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "thermo-1", UID: "d1", Generation: generation},
		Spec: v1beta1.DeviceSpec{
			DeviceModelRef: &corev1.LocalObjectReference{Name: "thermo-model"},
			NodeName:       testNode,
			Protocol:       v1beta1.ProtocolConfig{ProtocolName: "modbus"},
			Properties: []v1beta1.DeviceProperty{
				{Name: "temperature", ReportCycle: 10000, CollectCycle: 5000, ReportToCloud: true},
				{Name: "heater", Desired: v1beta1.TwinProperty{Value: heater}},
			},
		},
	}
}

// publishRequest reads a publication the module asked EventBus for.
func publishRequest(m message.Message) (topic string, payload []byte, ok bool) {
	r := m.Route.Resource
	if m.Route.Destination != eventbus.Name || m.Route.Operation != eventbus.OpPublish || r.Type != eventbus.ResourceType {
		return "", nil, false
	}
	return r.Name, m.Content, true
}
