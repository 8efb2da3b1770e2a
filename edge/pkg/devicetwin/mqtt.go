package devicetwin

import (
	"context"
	"fmt"

	"github.com/tether-edge/tether/edge/pkg/devicetwin/twin"
	"github.com/tether-edge/tether/edge/pkg/metamanager"
)

// serve answers one request from a device, mapper or app.
func (t *DeviceTwin) serve(ctx context.Context, req request) {
	switch req.action {
	case actionMembershipGet:
		t.membershipGet(ctx, req)
		return
	case actionTwinUpdate, actionTwinGet, actionStateUpdate:
	default:
		return
	}
	d := t.reg.device(req.device)
	if d == nil {
		t.fail(ctx, req, "", twin.CodeNotFound, fmt.Sprintf("device %s is not on node %s", req.device, t.opts.NodeName))
		return
	}
	switch req.action {
	case actionTwinUpdate:
		t.twinUpdate(ctx, d, req)
	case actionTwinGet:
		t.twinGet(ctx, d, req)
	case actionStateUpdate:
		t.stateUpdate(ctx, d, req)
	}
}

// fail publishes an error result for req.
func (t *DeviceTwin) fail(ctx context.Context, req request, eventID string, code int, reason string) {
	t.log.Debug("request refused", "topic", req.topic, "code", code, "reason", reason)
	t.publish(ctx, resultTopic(req.topic), twin.EncodeError(eventID, code, reason, t.opts.Now()))
}

// refuse publishes the error result for err (a *twin.PayloadError is a
// 400, anything else a 500).
func (t *DeviceTwin) refuse(ctx context.Context, req request, eventID string, err error) {
	t.log.Debug("request refused", "topic", req.topic, "err", err)
	t.publish(ctx, resultTopic(req.topic), twin.ErrorResultFor(eventID, err, t.opts.Now()))
}

// twinUpdate applies a twin/update: stored, then the result, document and
// delta published, then the status reported.
func (t *DeviceTwin) twinUpdate(ctx context.Context, d *device, req request) {
	now := t.opts.Now()
	in, err := twin.ParseUpdate(req.payload)
	if err != nil {
		t.refuse(ctx, req, in.EventID, err)
		return
	}
	d.mu.Lock()
	out, err := twin.Update(d.twins, in, now)
	if err != nil {
		d.mu.Unlock()
		t.refuse(ctx, req, in.EventID, err)
		return
	}
	if len(out.Changed) > 0 {
		change := metamanager.DeviceChange{Namespace: d.key.Namespace, Name: d.key.Name}
		putTwins(&change, out)
		if err := t.opts.Store.PutDevice(ctx, change); err != nil {
			d.mu.Unlock()
			t.refuse(ctx, req, in.EventID, fmt.Errorf("store the twin: %w", err))
			return
		}
		d.twins = out.Twins
	}
	d.mu.Unlock()
	t.publish(ctx, resultTopic(req.topic), out.Result)
	t.publish(ctx, deviceTopic(d.key, "twin/update/document"), out.Document)
	t.publish(ctx, deviceTopic(d.key, "twin/update/delta"), out.Delta)
	if len(out.Changed) > 0 {
		t.reports.mark(d.key)
	}
}

// twinGet answers a twin/get with the whole twin.
func (t *DeviceTwin) twinGet(ctx context.Context, d *device, req request) {
	in, err := twin.ParseGet(req.payload)
	if err != nil {
		t.refuse(ctx, req, in.EventID, err)
		return
	}
	d.mu.Lock()
	result := twin.EncodeGetResult(in.EventID, d.twins, t.opts.Now())
	d.mu.Unlock()
	t.publish(ctx, resultTopic(req.topic), result)
}

// stateUpdate records a device's state; "online" also sets its last
// online time.
func (t *DeviceTwin) stateUpdate(ctx context.Context, d *device, req request) {
	now := t.opts.Now()
	in, err := twin.ParseStateUpdate(req.payload)
	if err != nil {
		t.refuse(ctx, req, in.EventID, err)
		return
	}
	d.mu.Lock()
	last := d.lastOnline
	if in.State == twin.StateOnline {
		last = now
	}
	changed := in.State != d.state || !last.Equal(d.lastOnline)
	if changed {
		change := metamanager.DeviceChange{
			Namespace: d.key.Namespace, Name: d.key.Name,
			State: &metamanager.DeviceState{State: in.State, LastOnline: formatTime(last)},
		}
		if err := t.opts.Store.PutDevice(ctx, change); err != nil {
			d.mu.Unlock()
			t.refuse(ctx, req, in.EventID, fmt.Errorf("store the state: %w", err))
			return
		}
		d.state, d.lastOnline = in.State, last
	}
	d.mu.Unlock()
	t.publish(ctx, resultTopic(req.topic), twin.EncodeStateResult(d.key.Name, in.State, last, now))
	if changed {
		t.reports.mark(d.key)
	}
}

// membershipGet answers a membership/get for this node with every device.
func (t *DeviceTwin) membershipGet(ctx context.Context, req request) {
	if req.node != t.opts.NodeName {
		t.log.Debug("ignored a membership/get for another node", "node", req.node)
		return
	}
	in, err := twin.ParseGet(req.payload)
	if err != nil {
		t.refuse(ctx, req, in.EventID, err)
		return
	}
	all := t.reg.all()
	devices := make([]twin.Device, len(all))
	for i, d := range all {
		devices[i] = d.view()
	}
	t.publish(ctx, resultTopic(req.topic), twin.EncodeMembershipGetResult(in.EventID, devices, t.opts.Now()))
}
