package devicetwin

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/edge/pkg/devicetwin/twin"
	"github.com/tether-edge/tether/edge/pkg/metamanager"
)

// key names a device or a model: namespace and name.
type key struct{ Namespace, Name string }

func (k key) String() string { return k.Namespace + "/" + k.Name }

// compare orders keys by namespace, then name.
func (k key) compare(o key) int {
	return cmp.Or(cmp.Compare(k.Namespace, o.Namespace), cmp.Compare(k.Name, o.Name))
}

// device is what the module holds of one device. Its worker writes it;
// membership answers and the status sender read it.
type device struct {
	key key

	// mu guards the fields below.
	mu sync.Mutex
	// obj is the Device the cloud sent; nil for a device loaded from the
	// store whose Device has not been replayed yet.
	obj        *v1beta1.Device
	twins      map[string]*twin.Twin
	attributes map[string]*twin.Attribute
	state      string
	lastOnline time.Time
}

// view is a copy of a device for membership payloads.
func (d *device) view() twin.Device {
	d.mu.Lock()
	defer d.mu.Unlock()
	return twin.Device{
		ID:         d.key.String(),
		Name:       d.key.Name,
		State:      d.state,
		LastOnline: formatTime(d.lastOnline),
		Attributes: maps.Clone(d.attributes),
		Twin:       twin.Public(d.twins),
	}
}

// registry holds the node's devices and the models they use.
type registry struct {
	// mu guards the maps (not the devices in them).
	mu      sync.RWMutex
	devices map[key]*device
	models  map[key]*v1beta1.DeviceModel
}

func newRegistry() *registry {
	return &registry{devices: map[key]*device{}, models: map[key]*v1beta1.DeviceModel{}}
}

func (r *registry) device(k key) *device {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.devices[k]
}

// add returns the device k, creating it if absent; created says whether it
// was.
func (r *registry) add(k key) (d *device, created bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d := r.devices[k]; d != nil {
		return d, false
	}
	d = &device{key: k, twins: map[string]*twin.Twin{}, attributes: map[string]*twin.Attribute{}}
	r.devices[k] = d
	return d, true
}

func (r *registry) remove(k key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.devices, k)
}

// all returns the devices ordered by key.
func (r *registry) all() []*device {
	r.mu.RLock()
	defer r.mu.RUnlock()
	keys := slices.SortedFunc(maps.Keys(r.devices), key.compare)
	out := make([]*device, len(keys))
	for i, k := range keys {
		out[i] = r.devices[k]
	}
	return out
}

func (r *registry) model(k key) *v1beta1.DeviceModel {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.models[k]
}

func (r *registry) setModel(k key, m *v1beta1.DeviceModel) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m == nil {
		delete(r.models, k)
		return
	}
	r.models[k] = m
}

// using returns the devices whose Device references the model k.
func (r *registry) using(k key) []key {
	var out []key
	for _, d := range r.all() {
		d.mu.Lock()
		if d.obj != nil && modelOf(d.obj) == k {
			out = append(out, d.key)
		}
		d.mu.Unlock()
	}
	return out
}

// modelOf is the model a Device references, in its namespace; its name
// is empty when the Device references none.
func modelOf(d *v1beta1.Device) key {
	k := key{Namespace: d.Namespace}
	if d.Spec.DeviceModelRef != nil {
		k.Name = d.Spec.DeviceModelRef.Name
	}
	return k
}

// loaded is a device as the store keeps it; bad lists the parts that could
// not be decoded (they are left out).
func loaded(rec metamanager.DeviceRecord) (d *device, bad []string) {
	d = &device{
		key:        key{rec.Namespace, rec.Name},
		twins:      map[string]*twin.Twin{},
		attributes: map[string]*twin.Attribute{},
		state:      rec.State,
	}
	if rec.LastOnline != "" {
		t, err := time.Parse(time.RFC3339, rec.LastOnline)
		if err != nil {
			bad = append(bad, "lastOnline")
		}
		d.lastOnline = t
	}
	for name, b := range rec.Twins {
		var t twin.Twin
		if err := json.Unmarshal(b, &t); err != nil {
			bad = append(bad, "twin "+name)
			continue
		}
		d.twins[name] = &t
	}
	for name, b := range rec.Attributes {
		var a twin.Attribute
		if err := json.Unmarshal(b, &a); err != nil {
			bad = append(bad, "attribute "+name)
			continue
		}
		d.attributes[name] = &a
	}
	slices.Sort(bad)
	return d, bad
}

// formatTime is how the module writes times it keeps: RFC 3339 in UTC,
// empty when zero.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
