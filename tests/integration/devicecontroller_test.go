package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/cloud/pkg/devicecontroller"
	"github.com/tether-edge/tether/common/apis/devices/client"
	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/common/devicemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/tests/testenv"
	"github.com/tether-edge/tether/tests/tunneltest"
)

// dcWait bounds each wait for the apiserver or the controller.
const dcWait = 30 * time.Second

// dcHub stands in for CloudHub ("cloudhub"): it records what
// DeviceController sends it.
type dcHub struct {
	bus *beehive.Bus

	// mu guards got.
	mu  sync.Mutex
	got []message.Message
}

func (h *dcHub) Name() string  { return "cloudhub" }
func (h *dcHub) Group() string { return "" }
func (h *dcHub) Start(ctx context.Context) error {
	for {
		m, err := h.bus.Receive(ctx, "cloudhub")
		if err != nil {
			return nil
		}
		h.mu.Lock()
		h.got = append(h.got, m)
		h.mu.Unlock()
	}
}

// since returns the messages from the n-th on.
func (h *dcHub) since(n int) []message.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got[min(n, len(h.got)):])
}

func (h *dcHub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.got)
}

// dcShow renders messages as "op node type/name".
func dcShow(ms []message.Message) []string {
	var out []string
	for _, m := range ms {
		r := m.Route.Resource
		out = append(out, fmt.Sprintf("%s %s %s/%s", m.Route.Operation, r.Node, r.Type, r.Name))
	}
	return out
}

// waitHub waits until the hub got exactly want from the n-th message on.
func (h *dcHub) wait(t *testing.T, n int, what string, want ...string) []message.Message {
	t.Helper()
	var got []message.Message
	testenv.WaitFor(t, dcWait, what, func() error {
		got = h.since(n)
		if s := dcShow(got); !slices.Equal(s, want) {
			return fmt.Errorf("got %q, want %q", s, want)
		}
		return nil
	})
	return got
}

// dcApplyManifests creates every object of REFERENCE.md's sample.
func dcApplyManifests(ctx context.Context, t *testing.T, c *client.Client) {
	t.Helper()
	for _, doc := range readManifests(t, deviceManifests+"reference-sample.yaml") {
		var tm metav1.TypeMeta
		if err := json.Unmarshal(doc, &tm); err != nil {
			t.Fatal(err)
		}
		var err error
		switch tm.Kind {
		case v1beta1.DeviceModelKind:
			var dm v1beta1.DeviceModel
			mustUnmarshalStrict(t, doc, &dm)
			_, err = c.DeviceModels(dm.Namespace).Create(ctx, &dm, metav1.CreateOptions{})
		case v1beta1.DeviceKind:
			var d v1beta1.Device
			mustUnmarshalStrict(t, doc, &d)
			_, err = c.Devices(d.Namespace).Create(ctx, &d, metav1.CreateOptions{})
		default:
			t.Fatalf("sample: unexpected kind %q", tm.Kind)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestDeviceController runs DeviceController against the real
// kube-apiserver and a real bus: the sample device reaches its node after
// its model, follows changes and moves, takes status only from its node,
// and leaves on delete.
func TestDeviceController(t *testing.T) {
	t.Parallel()
	c, _ := startDevicesAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Applied before the controller starts: its first lists must send the
	// model before the device.
	dcApplyManifests(ctx, t, c)

	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	bus, err := beehive.New(beehive.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctrl, err := devicecontroller.New(devicecontroller.Options{Bus: bus, Client: c, Logger: log, Hub: "cloudhub"})
	if err != nil {
		t.Fatal(err)
	}
	hub := &dcHub{bus: bus}
	for _, m := range []beehive.Module{hub, ctrl} {
		if err := bus.Register(m, beehive.Policy{OnError: beehive.StopProcess}); err != nil {
			t.Fatal(err)
		}
	}
	tunneltest.Run(t, bus)
	select {
	case <-ctrl.Synced():
	case <-time.After(dcWait):
		t.Fatal("DeviceController not synced")
	}

	got := hub.wait(t, 0, "model then device on edge-1",
		"insert edge-1 devicemodel/thermo-model", "insert edge-1 device/thermo-1")
	var sent v1beta1.Device
	if err := json.Unmarshal(got[1].Content, &sent); err != nil || sent.Kind != "Device" ||
		sent.APIVersion != "devices.kubeedge.io/v1beta1" || sent.ManagedFields != nil || got[1].Header.ResourceVersion != sent.ResourceVersion {
		t.Fatalf("sent device %+v (rv %q), %v", sent.TypeMeta, got[1].Header.ResourceVersion, err)
	}

	devs := c.Devices("default")
	update := func(change func(*v1beta1.Device)) {
		t.Helper()
		d, err := devs.Get(ctx, "thermo-1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		change(d)
		if _, err := devs.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	n := hub.count()
	update(func(d *v1beta1.Device) { d.Spec.Properties[1].Desired.Value = "true" })
	got = hub.wait(t, n, "an update with the new desired value", "update edge-1 device/thermo-1")
	if err := json.Unmarshal(got[0].Content, &sent); err != nil || sent.Spec.Properties[1].Desired.Value != "true" {
		t.Fatalf("updated device %+v, %v", sent.Spec.Properties, err)
	}

	n = hub.count()
	update(func(d *v1beta1.Device) { d.Spec.NodeName = "edge-2" })
	hub.wait(t, n, "the move to edge-2",
		"delete edge-1 device/thermo-1", "delete edge-1 devicemodel/thermo-model",
		"insert edge-2 devicemodel/thermo-model", "insert edge-2 device/thermo-1")

	d, err := devs.Get(ctx, "thermo-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	report := devicemsg.DeviceStatusReport{UID: d.UID, State: "online", LastOnlineTime: "2026-01-02T03:04:05Z",
		Twins: []v1beta1.Twin{{PropertyName: "heater",
			Reported:        v1beta1.TwinProperty{Value: "true", Metadata: map[string]string{v1beta1.TwinMetadataType: "boolean"}},
			ObservedDesired: v1beta1.TwinProperty{Value: "true"}}}}
	sendReport := func(node string, r devicemsg.DeviceStatusReport) {
		t.Helper()
		body, _ := json.Marshal(r)
		m := message.NewToGroup("cloudhub", devicemsg.Group, message.OpUpdate,
			message.Resource{Node: node, Namespace: "default", Type: devicemsg.TypeDeviceStatus, Name: "thermo-1"}, body)
		if err := bus.SendToGroup(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	sendReport("edge-2", report)
	var status v1beta1.DeviceStatus
	testenv.WaitFor(t, dcWait, "the reported status", func() error {
		d, err := devs.Get(ctx, "thermo-1", metav1.GetOptions{})
		if err != nil {
			return err
		}
		status = d.Status
		if d.Status.State != "online" || d.Status.LastOnlineTime != report.LastOnlineTime ||
			len(d.Status.Twins) != 1 || d.Status.Twins[0].Reported.Value != "true" ||
			d.Status.Twins[0].Reported.Metadata[v1beta1.TwinMetadataType] != "boolean" {
			return fmt.Errorf("status %+v", d.Status)
		}
		return nil
	})

	denied := report
	denied.State, denied.Twins = "offline", nil
	sendReport("edge-1", denied)
	testenv.WaitFor(t, dcWait, "the denial of edge-1's report", func() error {
		if ctrl.Denials() != 1 {
			return fmt.Errorf("denials %d", ctrl.Denials())
		}
		return nil
	})
	d, err = devs.Get(ctx, "thermo-1", metav1.GetOptions{})
	if err != nil || d.Status.State != status.State || len(d.Status.Twins) != 1 {
		t.Fatalf("status after a denied report %+v, %v; want %+v", d.Status, err, status)
	}

	n = hub.count()
	if err := devs.Delete(ctx, "thermo-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	hub.wait(t, n, "the deletes on edge-2", "delete edge-2 device/thermo-1", "delete edge-2 devicemodel/thermo-model")
}
