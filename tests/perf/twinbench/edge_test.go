package twinbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/devicemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/devicetwin"
	"github.com/tether-edge/tether/edge/pkg/devicetwin/twin"
	"github.com/tether-edge/tether/edge/pkg/eventbus"
	"github.com/tether-edge/tether/edge/pkg/metamanager"
)

const (
	nodeName  = "bench-node"
	namespace = "default"
	modelName = "thermo-model"
	// hubName is the stand-in for EdgeHub: statuses end there.
	hubName = "edgehub"
)

// edge is the part of edgecore a twin update goes through, in this
// process: beehive, MetaManager on a SQLite file, EventBus's embedded broker
// and DeviceTwin, composed as edgecore's run.go does, with a stand-in hub
// that drains what would go to the cloud.
type edge struct {
	// addr is the embedded broker's host:port.
	addr  string
	store *metamanager.Store
	meta  *metamanager.Manager
	// failed is closed when the bus stopped before the benchmark ended
	// it; err says why.
	failed chan struct{}
	err    error
}

// startEdge runs the edge until tb ends, gives it devices devices the way
// the cloud does and waits until DeviceTwin serves them all.
func startEdge(tb testing.TB, devices int) *edge {
	tb.Helper()
	log := captureLogs(tb)
	store, err := metamanager.OpenStore(metamanager.StoreOptions{
		Path:   filepath.Join(tb.TempDir(), "edgecore.db"),
		Logger: log,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := store.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	bus, err := beehive.New(beehive.Options{Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	e := &edge{addr: freeAddr(tb), store: store, failed: make(chan struct{})}
	mqtt := e.register(tb, bus, log)
	ctx, cancel := context.WithCancel(context.Background())
	var stopping atomic.Bool
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		err := bus.Run(ctx)
		if !stopping.Load() {
			e.err = fmt.Errorf("the bus stopped: %w", err)
			close(e.failed)
		}
	}()
	tb.Cleanup(func() {
		stopping.Store(true)
		cancel()
		<-ran
	})
	e.waitUntil(tb, "the embedded broker listens", mqtt.Connected)
	e.addDevices(tb, devices)
	e.waitForMembership(tb, devices)
	return e
}

// register builds MetaManager, EventBus, DeviceTwin and the stand-in hub
// on bus. Every module stops the bus when it fails.
func (e *edge) register(tb testing.TB, bus *beehive.Bus, log *slog.Logger) *eventbus.EventBus {
	tb.Helper()
	meta, err := metamanager.New(metamanager.Options{
		Bus: bus, Store: e.store, Logger: log, Hub: hubName,
		RequestTimeout: time.Minute, Subscribers: []string{devicetwin.Name},
	})
	if err != nil {
		tb.Fatal(err)
	}
	e.meta = meta
	c := config.DefaultEdgeCore().EventBus
	c.Mode = config.EventBusEmbedded
	c.Embedded.Listen = e.addr
	mqtt, err := eventbus.New(eventbus.Options{Config: c, Bus: bus, Deliver: devicetwin.Name, Log: log})
	if err != nil {
		tb.Fatal(err)
	}
	twins, err := devicetwin.New(devicetwin.Options{
		Bus: bus, Store: e.store, Logger: log, NodeName: nodeName,
		EventBus: eventbus.Name, StatusSink: metamanager.Name,
	})
	if err != nil {
		tb.Fatal(err)
	}
	stop := beehive.Policy{OnError: beehive.StopProcess}
	for _, m := range []beehive.Module{meta, mqtt, twins, &drain{bus: bus}} {
		if err := bus.Register(m, stop); err != nil {
			tb.Fatal(err)
		}
	}
	return mqtt
}

// waitUntil waits up to setupTimeout for cond, or fails tb.
func (e *edge) waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(setupTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-e.failed:
			tb.Fatalf("%s: %v", what, e.err)
		case <-deadline.C:
			tb.Fatalf("%s: not within %v", what, setupTimeout)
		case <-tick.C:
		}
	}
}

// addDevices applies the DeviceModel, then n Devices, through MetaManager
// as EdgeHub applies what the cloud syncs.
func (e *edge) addDevices(tb testing.TB, n int) {
	tb.Helper()
	ctx := context.Background()
	apply := func(typ, name string, obj any) {
		b, err := json.Marshal(obj)
		if err != nil {
			tb.Fatal(err)
		}
		msg := message.New(hubName, metamanager.Name, message.OpInsert,
			message.Resource{Namespace: namespace, Type: typ, Name: name}, b)
		msg.Header.ResourceVersion = "1"
		if err := e.meta.Apply(ctx, msg); err != nil {
			tb.Fatalf("apply %s %s: %v", typ, name, err)
		}
	}
	apply(devicemsg.TypeDeviceModel, modelName, benchModel())
	for i := range n {
		apply(devicemsg.TypeDevice, deviceName(i), benchDevice(i))
	}
}

func deviceName(i int) string { return "dev-" + strconv.Itoa(i) }

func benchModel() *v1beta1.DeviceModel {
	return &v1beta1.DeviceModel{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1beta1.SchemeGroupVersion.String(), Kind: "DeviceModel"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: modelName, UID: "model-uid", Generation: 1},
		Spec: v1beta1.DeviceModelSpec{Protocol: "modbus", Properties: []v1beta1.ModelProperty{
			{Name: "temperature", Type: "FLOAT", AccessMode: "ReadOnly", Unit: "celsius"},
			{Name: "humidity", Type: "FLOAT", AccessMode: "ReadOnly", Unit: "percent"},
		}},
	}
}

// benchDevice is device i of the node: the model's properties, no desired
// values.
func benchDevice(i int) *v1beta1.Device {
	return &v1beta1.Device{
		TypeMeta: metav1.TypeMeta{APIVersion: v1beta1.SchemeGroupVersion.String(), Kind: "Device"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: deviceName(i),
			UID: types.UID("uid-" + deviceName(i)), Generation: 1},
		Spec: v1beta1.DeviceSpec{
			DeviceModelRef: &corev1.LocalObjectReference{Name: modelName},
			NodeName:       nodeName,
			Protocol:       v1beta1.ProtocolConfig{ProtocolName: "modbus"},
			Properties: []v1beta1.DeviceProperty{
				{Name: "temperature", ReportCycle: 10000, CollectCycle: 5000, ReportToCloud: true},
				{Name: "humidity", ReportCycle: 10000, CollectCycle: 5000, ReportToCloud: true},
			},
		},
	}
}

// waitForMembership asks DeviceTwin for the node's devices over MQTT
// (membership/get) until the answer lists n of them.
func (e *edge) waitForMembership(tb testing.TB, n int) {
	tb.Helper()
	topic := "$hw/events/node/" + nodeName + "/membership/get"
	listed := make(chan int, 16)
	c := connect(tb, e.addr, "membership")
	err := wait(c.Subscribe(topic+"/result", 0, func(_ paho.Client, m paho.Message) {
		var res struct {
			Devices []json.RawMessage `json:"devices"`
		}
		if json.Unmarshal(m.Payload(), &res) == nil {
			select {
			case listed <- len(res.Devices):
			default:
			}
		}
	}))
	if err != nil {
		tb.Fatalf("subscribe %s/result: %v", topic, err)
	}
	deadline := time.NewTimer(setupTimeout)
	defer deadline.Stop()
	ask := time.NewTicker(100 * time.Millisecond)
	defer ask.Stop()
	for got := -1; got != n; {
		select {
		case got = <-listed:
		case <-ask.C:
			c.Publish(topic, 0, false, fmt.Sprintf(`{"event_id":"members","timestamp":%d}`, time.Now().UnixMilli()))
		case <-e.failed:
			tb.Fatalf("membership: %v", e.err)
		case <-deadline.C:
			tb.Fatalf("DeviceTwin lists %d devices, not %d, after %v", got, n, setupTimeout)
		}
	}
}

// lastTemperature is the temperature each of names has in the store:
// what a twin/update committed.
func (e *edge) lastTemperature(tb testing.TB, names []string) map[string]string {
	tb.Helper()
	recs, err := e.store.Devices(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]string{}
	for _, r := range recs {
		if r.Namespace != namespace || !want[r.Name] {
			continue
		}
		var t twin.Twin
		if err := json.Unmarshal(r.Twins["temperature"], &t); err != nil {
			tb.Fatalf("device %s: stored temperature %q: %v", r.Name, r.Twins["temperature"], err)
		}
		if t.Actual != nil {
			out[r.Name] = t.Actual.Value
		}
	}
	return out
}

// drain stands in for EdgeHub: it takes what MetaManager hands the hub
// (device statuses) and counts it.
type drain struct {
	bus      *beehive.Bus
	received atomic.Int64
}

func (d *drain) Name() string  { return hubName }
func (d *drain) Group() string { return "hub" }

func (d *drain) Start(ctx context.Context) error {
	for {
		if _, err := d.bus.Receive(ctx, hubName); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("stand-in hub: %w", err)
		}
		d.received.Add(1)
	}
}

// captureLogs returns a logger of warnings and errors that keeps them
// until tb ends, and logs them to tb then if it failed. Nothing is written
// meanwhile: a line in the middle of a benchmark's result line would
// break it (go test prints the name before running the benchmark).
func captureLogs(tb testing.TB) *slog.Logger {
	var buf lockedBuffer
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("edge logs:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// lockedBuffer is a bytes.Buffer for several writers.
type lockedBuffer struct {
	// mu guards b.
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeAddr is a 127.0.0.1 address that was free a moment ago.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

var errTimeout = errors.New("timed out")
