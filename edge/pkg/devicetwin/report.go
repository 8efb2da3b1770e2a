package devicetwin

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/common/devicemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/devicetwin/twin"
)

// reporter sends the status of the devices marked since its last round,
// each once per round with its state at the time it is sent.
type reporter struct {
	// mu guards dirty.
	mu    sync.Mutex
	dirty map[key]bool
	// wake has room for one signal: a mark while a round runs makes one
	// more round.
	wake chan struct{}
}

func newReporter() *reporter {
	return &reporter{dirty: map[key]bool{}, wake: make(chan struct{}, 1)}
}

// mark asks for k's status to be sent.
func (r *reporter) mark(k key) {
	r.mu.Lock()
	r.dirty[k] = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// forget drops a pending send of k (the device left the node).
func (r *reporter) forget(k key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.dirty, k)
}

// take empties the marked set, ordered by key.
func (r *reporter) take() []key {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := slices.SortedFunc(maps.Keys(r.dirty), key.compare)
	clear(r.dirty)
	return keys
}

// run sends what is marked until ctx ends.
func (r *reporter) run(ctx context.Context, send func(context.Context, key)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		for _, k := range r.take() {
			send(ctx, k)
		}
	}
}

// sendStatus hands device k's status to the status sink.
func (t *DeviceTwin) sendStatus(ctx context.Context, k key) {
	d := t.reg.device(k)
	if d == nil {
		return
	}
	d.mu.Lock()
	if d.obj == nil {
		d.mu.Unlock()
		return
	}
	report := statusReport(d.obj, d.twins, d.state, formatTime(d.lastOnline))
	d.mu.Unlock()
	body := mustJSON(report)
	msg := message.New(Name, t.opts.StatusSink, message.OpUpdate,
		message.Resource{Namespace: k.Namespace, Type: devicemsg.TypeDeviceStatus, Name: k.Name}, body)
	msg.Route.Group = devicemsg.Group
	msg.Header.Timestamp = t.opts.Now().UnixMilli()
	if err := t.opts.Bus.Send(ctx, msg); err != nil && ctx.Err() == nil {
		t.log.Warn("device status not handed to the store", "device", k, "err", err)
	}
}

// statusReport is the status the cloud writes to obj: per property, the
// reported (actual) value and the observed desired (expected) value.
func statusReport(obj *v1beta1.Device, twins map[string]*twin.Twin, state, lastOnline string) devicemsg.DeviceStatusReport {
	r := devicemsg.DeviceStatusReport{UID: obj.UID, State: state, LastOnlineTime: lastOnline}
	for _, name := range slices.Sorted(maps.Keys(twins)) {
		tw := twins[name]
		s := v1beta1.Twin{PropertyName: name}
		if tw.Actual != nil {
			s.Reported = v1beta1.TwinProperty{Value: tw.Actual.Value, Metadata: map[string]string{
				v1beta1.TwinMetadataTimestamp: strconv.FormatInt(tw.Actual.Metadata.Timestamp, 10),
				v1beta1.TwinMetadataType:      tw.Metadata.Type,
			}}
		}
		if tw.Expected != nil {
			s.ObservedDesired = v1beta1.TwinProperty{Value: tw.Expected.Value, Metadata: map[string]string{
				v1beta1.TwinMetadataTimestamp: strconv.FormatInt(tw.Expected.Metadata.Timestamp, 10),
			}}
		}
		r.Twins = append(r.Twins, s)
	}
	return r
}
