package devicetwin

import (
	"context"
	"encoding/json"
	"maps"
	"slices"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/edge/pkg/devicetwin/twin"
	"github.com/tether-edge/tether/edge/pkg/metamanager"
)

// Attribute names derived from a Device.
const (
	attrDeviceModel = "deviceModel"
	attrProtocol    = "protocol"
)

// applyDevice brings a device's twin and attributes in line with the
// Device the cloud sent: stored, then published, then reported.
func (t *DeviceTwin) applyDevice(ctx context.Context, obj *v1beta1.Device) {
	k := key{obj.Namespace, obj.Name}
	d, created := t.reg.add(k)
	now := t.opts.Now()
	d.mu.Lock()
	current := d.twins
	var dropped []string
	if d.obj != nil && d.obj.UID != obj.UID {
		// Another Device of the same name: nothing of the earlier one's
		// twin is wanted, and its generations mean nothing to this one.
		current, dropped = nil, slices.Sorted(maps.Keys(d.twins))
	}
	out := twin.ApplyDesired(current, t.desired(obj), obj.Generation, now)
	attrs := attributesOf(obj)
	change := metamanager.DeviceChange{Namespace: k.Namespace, Name: k.Name}
	putTwins(&change, out)
	for _, name := range dropped {
		if _, ok := out.Twins[name]; !ok {
			change.DeleteTwins = append(change.DeleteTwins, name)
		}
	}
	putAttributes(&change, d.attributes, attrs)
	attrsChanged := len(change.PutAttributes)+len(change.DeleteAttributes) > 0
	if err := t.opts.Store.PutDevice(ctx, change); err != nil {
		d.mu.Unlock()
		if created {
			t.reg.remove(k)
		}
		t.log.Error("device not stored; it waits for the next change or restart", "device", k, "err", err)
		return
	}
	d.obj, d.twins, d.attributes = obj, out.Twins, attrs
	d.mu.Unlock()

	if created {
		t.publish(ctx, membershipUpdatedTopic(t.opts.NodeName), twin.EncodeMembershipUpdated([]twin.Device{d.view()}, nil, now))
		t.log.Info("device added", "device", k)
	} else if attrsChanged {
		t.publish(ctx, deviceTopic(k, "updated"), twin.EncodeDeviceUpdated(attrs, now))
	}
	t.publish(ctx, deviceTopic(k, "twin/update/document"), out.Document)
	t.publish(ctx, deviceTopic(k, "twin/update/delta"), out.Delta)
	if created || len(out.Changed) > 0 {
		t.reports.mark(k)
	}
}

// desired is what obj declares of each property, typed by its model.
func (t *DeviceTwin) desired(obj *v1beta1.Device) map[string]twin.Desired {
	types := map[string]string{}
	if m := t.reg.model(modelOf(obj)); m != nil {
		for _, p := range m.Spec.Properties {
			types[p.Name] = string(p.Type)
		}
	}
	out := make(map[string]twin.Desired, len(obj.Spec.Properties))
	for _, p := range obj.Spec.Properties {
		if p.Name == "" {
			continue
		}
		out[p.Name] = twin.Desired{Type: types[p.Name], Value: p.Desired.Value}
	}
	return out
}

// attributesOf derives a device's attributes from its Device.
func attributesOf(obj *v1beta1.Device) map[string]*twin.Attribute {
	out := map[string]*twin.Attribute{}
	add := func(name, value string) {
		if value != "" {
			out[name] = &twin.Attribute{Value: value, Metadata: twin.TypeMetadata{Type: twin.TypeString}}
		}
	}
	add(attrDeviceModel, modelOf(obj).Name)
	add(attrProtocol, obj.Spec.Protocol.ProtocolName)
	return out
}

// putTwins adds the twin properties an outcome changed to c.
func putTwins(c *metamanager.DeviceChange, out twin.Outcome) {
	for _, name := range out.Changed {
		tw, ok := out.Twins[name]
		if !ok {
			c.DeleteTwins = append(c.DeleteTwins, name)
			continue
		}
		if c.PutTwins == nil {
			c.PutTwins = map[string][]byte{}
		}
		c.PutTwins[name] = mustJSON(tw)
	}
}

// putAttributes adds to c what turns attributes old into next.
func putAttributes(c *metamanager.DeviceChange, old, next map[string]*twin.Attribute) {
	for name, a := range next {
		if o, ok := old[name]; ok && *o == *a {
			continue
		}
		if c.PutAttributes == nil {
			c.PutAttributes = map[string][]byte{}
		}
		c.PutAttributes[name] = mustJSON(a)
	}
	for name := range maps.Keys(old) {
		if _, ok := next[name]; !ok {
			c.DeleteAttributes = append(c.DeleteAttributes, name)
		}
	}
}

// deleteDevice removes a device that left the node.
func (t *DeviceTwin) deleteDevice(ctx context.Context, k key) {
	d := t.reg.device(k)
	if d == nil {
		return
	}
	if err := t.opts.Store.DeleteDevice(ctx, k.Namespace, k.Name); err != nil {
		t.log.Error("device not removed from the local store; it is removed at the next start", "device", k, "err", err)
	}
	t.reg.remove(k)
	t.reports.forget(k)
	t.publish(ctx, membershipUpdatedTopic(t.opts.NodeName), twin.EncodeMembershipUpdated(nil, []twin.Device{d.view()}, t.opts.Now()))
	t.log.Info("device removed", "device", k)
}

// mustJSON marshals the package twin's value types, which always marshal.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
