package twin

import (
	"maps"
	"slices"
	"time"
)

// Outcome is what a change did to a device's twin and what to publish.
type Outcome struct {
	// Twins is the whole twin after the change, versions included: a new
	// map of new values, sharing nothing with the input.
	Twins map[string]*Twin
	// Changed names, sorted, the properties whose stored twin changed
	// (values, versions, type or optional); a name not in Twins was deleted.
	Changed []string
	// Reported names, sorted, the properties whose actual value changed or
	// was deleted: what to report to the cloud.
	Reported []string
	// Result is the twin/update/result payload; nil from ApplyDesired.
	Result []byte
	// Document is the twin/update/document payload; nil when no property
	// changed in a way applications can see.
	Document []byte
	// Delta is the twin/update/delta payload, set when a property changed
	// in a way applications can see and some property's expected value
	// differs from its actual value.
	Delta []byte
}

// change collects the effects of one operation while it runs.
type change struct {
	twins    map[string]*Twin
	changed  map[string]bool
	reported map[string]bool
	doc      map[string]*DocEntry
}

func newChange(current map[string]*Twin) *change {
	return &change{
		twins:    cloneTwins(current),
		changed:  map[string]bool{},
		reported: map[string]bool{},
		doc:      map[string]*DocEntry{},
	}
}

// stored records that name changed in storage only (no visible change).
func (c *change) stored(name string) { c.changed[name] = true }

// visible records a change of name that applications can see; last is the
// twin before it (nil when added). The document's current state is taken
// at the end, so several changes to one property make one entry.
func (c *change) visible(name string, last *Twin) {
	c.changed[name] = true
	if _, ok := c.doc[name]; !ok {
		c.doc[name] = &DocEntry{Last: last.public()}
	}
}

// outcome builds the payloads; base is the document's header.
func (c *change) outcome(base BaseMessage, now time.Time) Outcome {
	out := Outcome{
		Twins:    c.twins,
		Changed:  slices.Sorted(maps.Keys(c.changed)),
		Reported: slices.Sorted(maps.Keys(c.reported)),
	}
	if len(c.doc) == 0 {
		return out
	}
	for name, e := range c.doc {
		e.Current = c.twins[name].public()
	}
	out.Document = encode(Document{BaseMessage: base, Twin: c.doc})
	if delta := deltaOf(c.twins); len(delta) > 0 {
		out.Delta = encode(Delta{BaseMessage: freshBase(now), Twin: Public(c.twins), Delta: delta})
	}
	return out
}

// deltaOf maps each property whose expected value is set, not empty, and
// differs from its actual value to the expected value (as KubeEdge does).
func deltaOf(twins map[string]*Twin) map[string]string {
	delta := map[string]string{}
	for name, t := range twins {
		if t.Expected == nil || t.Expected.Value == "" {
			continue
		}
		if t.Actual == nil || t.Actual.Value != t.Expected.Value {
			delta[name] = t.Expected.Value
		}
	}
	return delta
}

// Update applies a twin/update request from the edge (a device, mapper or
// app) to current, which it does not modify. For each property in req:
//
//   - nil deletes it if it is optional; deleting a non-optional property
//     is an error, deleting an absent one does nothing;
//   - an expected or actual value that differs from the stored one replaces
//     it, with the request's timestamp for it (or now when it has none),
//     and bumps that value's edge version; an equal value changes nothing;
//   - a property not in current is added as optional, of the request's
//     metadata type (string when none), as KubeEdge does. Optional means
//     "owned by the edge": ApplyDesired never removes it.
//
// Values must fit the property's type and the size limits. On error
// nothing changes and the error is a [*PayloadError]. The result lists
// every property of the request as it is afterwards (null if deleted).
func Update(current map[string]*Twin, req UpdateRequest, now time.Time) (Outcome, error) {
	if err := checkRequest(req); err != nil {
		return Outcome{}, err
	}
	c := newChange(current)
	for _, name := range slices.Sorted(maps.Keys(req.Twin)) {
		if err := c.update(name, req.Twin[name], now); err != nil {
			return Outcome{}, err
		}
	}
	result := make(map[string]*Twin, len(req.Twin))
	for name := range req.Twin {
		result[name] = c.twins[name].public()
	}
	out := c.outcome(replyBase(req.EventID, now), now)
	out.Result = encode(TwinResult{BaseMessage: replyBase(req.EventID, now), Twin: result})
	return out, nil
}

// update applies one property of an edge update to c.
func (c *change) update(name string, in *Twin, now time.Time) error {
	old := c.twins[name]
	if in == nil {
		if old == nil {
			return nil
		}
		if !old.Optional {
			return payloadErrorf("property %q is not optional and cannot be deleted", clip(name))
		}
		c.visible(name, old)
		if old.Actual != nil {
			c.reported[name] = true
		}
		delete(c.twins, name)
		return nil
	}
	t := old
	if t == nil {
		typ, ok := NormalizeType(in.Metadata.Type)
		if !ok {
			return payloadErrorf("field twin.%s.metadata.type: unknown type %q", clip(name), clip(in.Metadata.Type))
		}
		t = &Twin{Optional: true, Metadata: TypeMetadata{Type: typ}}
	}
	next := t.Clone()
	ts := now.UnixMilli()
	if err := setValue(name, "expected", t.Metadata.Type, &next.Expected, &next.ExpectedVersion, in.Expected, ts); err != nil {
		return err
	}
	if err := setValue(name, "actual", t.Metadata.Type, &next.Actual, &next.ActualVersion, in.Actual, ts); err != nil {
		return err
	}
	if old != nil && !valueChanged(old.Expected, next.Expected) && !valueChanged(old.Actual, next.Actual) {
		return nil
	}
	if valueChanged(t.Actual, next.Actual) {
		c.reported[name] = true
	}
	c.visible(name, old)
	c.twins[name] = next
	return nil
}

// setValue sets *dst to in when in is given and differs, bumping the edge
// version; ts is the timestamp used when in has none.
func setValue(name, field, typ string, dst **TwinValue, ver *Version, in *TwinValue, ts int64) error {
	if in == nil {
		return nil
	}
	if !checkValue(typ, in.Value) {
		return payloadErrorf("field twin.%s.%s.value: %q is not a valid %s", clip(name), field, clip(in.Value), typ)
	}
	if *dst != nil && (*dst).Value == in.Value {
		return nil
	}
	v := TwinValue{Value: in.Value, Metadata: ValueMetadata{Timestamp: ts}}
	if in.Metadata.Timestamp > 0 {
		v.Metadata.Timestamp = in.Metadata.Timestamp
	}
	*dst = &v
	ver.Edge++
	return nil
}

// valueChanged reports whether a and b differ in presence or value.
func valueChanged(a, b *TwinValue) bool {
	if a == nil || b == nil {
		return a != b
	}
	return a.Value != b.Value
}
