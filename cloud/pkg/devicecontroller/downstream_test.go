package devicecontroller

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/tether-edge/tether/common/apis/devices/client"
	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
)

// TestMain turns streaming lists off: the fake dynamic client cannot serve
// them, and the typed client hides that it is a fake.
func TestMain(m *testing.M) {
	os.Setenv("KUBE_FEATURE_WatchListClient", "false")
	os.Exit(m.Run())
}

func toU(t *testing.T, obj runtime.Object, kind string) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(v1beta1.SchemeGroupVersion.WithKind(kind))
	return u
}

// waitSent waits until the bus was sent exactly want ("op node/type/name").
func waitSent(t *testing.T, bus *fakeBus, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		bus.mu.Lock()
		var got []string
		for _, m := range bus.sent {
			r := m.Route.Resource
			got = append(got, fmt.Sprintf("%s %s/%s/%s", m.Route.Operation, r.Node, r.Type, r.Name))
		}
		bus.mu.Unlock()
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sent %q, want %q", got, want)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
}

// TestDownstream runs the controller over a fake apiserver holding a
// device and its model: Synced closes after both are sent, the model
// first, in the edge's form; deleting the device deletes both.
func TestDownstream(t *testing.T) {
	d := dev("d", "n1", "m", "")
	d.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1beta1.DevicesGVR: "DeviceList", v1beta1.DeviceModelsGVR: "DeviceModelList"},
		toU(t, d, v1beta1.DeviceKind), toU(t, model("m", ""), v1beta1.DeviceModelKind))
	bus := &fakeBus{}
	ctrl, err := New(Options{Bus: bus, Client: client.New(dyn), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Hub: "hub"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctrl.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	}()
	select {
	case <-ctrl.Synced():
	case <-time.After(10 * time.Second):
		t.Fatal("not synced")
	}
	bus.mu.Lock()
	sent := slices.Clone(bus.sent)
	bus.mu.Unlock()
	if len(sent) != 2 {
		t.Fatalf("sent %d messages by Synced, want 2", len(sent))
	}
	waitSent(t, bus, "insert n1/devicemodel/m", "insert n1/device/d")
	var got v1beta1.Device
	if err := json.Unmarshal(sent[1].Content, &got); err != nil || got.Kind != v1beta1.DeviceKind ||
		got.APIVersion != "devices.kubeedge.io/v1beta1" || got.ManagedFields != nil || sent[1].Route.Destination != "hub" {
		t.Errorf("sent %+v to %q, %v", got.ObjectMeta, sent[1].Route.Destination, err)
	}

	if err := client.New(dyn).Devices("ns").Delete(ctx, "d", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSent(t, bus, "insert n1/devicemodel/m", "insert n1/device/d", "delete n1/device/d", "delete n1/devicemodel/m")
}

// TestRestartPrunes stops the controller, deletes the device while it is
// stopped, and starts it again: once synced the hub is told the device and
// its model left.
func TestRestartPrunes(t *testing.T) {
	// Versions are set, so the relist after the restart finds nothing new.
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1beta1.DevicesGVR: "DeviceList", v1beta1.DeviceModelsGVR: "DeviceModelList"},
		toU(t, dev("d", "n1", "m", "2"), v1beta1.DeviceKind), toU(t, model("m", "1"), v1beta1.DeviceModelKind))
	bus := &fakeBus{}
	ctrl, err := New(Options{Bus: bus, Client: client.New(dyn), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Hub: "hub"})
	if err != nil {
		t.Fatal(err)
	}
	run := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ctrl.Start(ctx) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Start: %v", err)
			}
		}
	}
	stop := run()
	waitSent(t, bus, "insert n1/devicemodel/m", "insert n1/device/d")
	stop()
	if err := client.New(dyn).Devices("ns").Delete(context.Background(), "d", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	defer run()()
	waitSent(t, bus, "insert n1/devicemodel/m", "insert n1/device/d", "delete n1/device/d", "delete n1/devicemodel/m")
}
