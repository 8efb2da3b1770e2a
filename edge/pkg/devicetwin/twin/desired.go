package twin

import (
	"maps"
	"slices"
	"time"
)

// Desired is one property of a Device as the cloud declares it.
type Desired struct {
	// Type is the DeviceModel property type (INT, FLOAT, ...); see
	// [NormalizeType]. An unknown type is kept as a string.
	Type string
	// Value is spec.properties[].desired.value; "" when the Device sets
	// none, in which case the expected value is left to the edge.
	Value string
}

// ApplyDesired applies the properties of a Device whose metadata.generation
// is generation to current, which it does not modify:
//
//   - a property of the Device not in current is added (not optional, of
//     the given type) with its desired value as expected, if any;
//   - a property's expected_version.cloud records the newest generation
//     that declared it. A desired value replaces the expected value only
//     if generation is greater than that, so a re-sent or older Device (the
//     resync after a reconnect) never overwrites an expected value set at
//     the edge since. A newer generation does override one, even if the
//     Device changed only another property;
//   - a property the Device declares takes the Device's type and stops
//     being optional;
//   - a non-optional property the Device no longer has is removed unless
//     a Device of generation or newer declared it (an older Device arriving
//     late); optional ones (added at the edge) stay.
//
// The Outcome has no Result and no Reported; Document and Delta carry fresh
// event ids.
func ApplyDesired(current map[string]*Twin, desired map[string]Desired, generation int64, now time.Time) Outcome {
	c := newChange(current)
	for _, name := range slices.Sorted(maps.Keys(c.twins)) {
		t := c.twins[name]
		if _, ok := desired[name]; ok || t.Optional || t.ExpectedVersion.Cloud >= generation {
			continue
		}
		c.visible(name, t)
		delete(c.twins, name)
	}
	for _, name := range slices.Sorted(maps.Keys(desired)) {
		c.desire(name, desired[name], generation, now)
	}
	return c.outcome(freshBase(now), now)
}

// desire applies one declared property to c.
func (c *change) desire(name string, d Desired, generation int64, now time.Time) {
	typ, ok := NormalizeType(d.Type)
	if !ok {
		typ = TypeString
	}
	old := c.twins[name]
	next := &Twin{Metadata: TypeMetadata{Type: typ}}
	if old != nil {
		next = old.Clone()
	}
	visible := old == nil || old.Optional || old.Metadata.Type != typ
	next.Optional = false
	next.Metadata.Type = typ
	if generation > next.ExpectedVersion.Cloud {
		if d.Value != "" && (next.Expected == nil || next.Expected.Value != d.Value) {
			next.Expected = &TwinValue{Value: d.Value, Metadata: ValueMetadata{Timestamp: now.UnixMilli()}}
			visible = true
		}
		next.ExpectedVersion.Cloud = generation
		c.stored(name)
	}
	if visible {
		c.visible(name, old)
	}
	c.twins[name] = next
}
