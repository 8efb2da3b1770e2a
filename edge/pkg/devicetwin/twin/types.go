package twin

import "maps"

// Version counts the changes made to one value (expected or actual) of a
// property: Cloud is the metadata.generation of the Device that last set it,
// Edge the number of changes made at the edge. Stored, never published.
type Version struct {
	Cloud int64 `json:"cloud"`
	Edge  int64 `json:"edge"`
}

// ValueMetadata is when a value was set, in milliseconds since the epoch.
type ValueMetadata struct {
	Timestamp int64 `json:"timestamp"`
}

// TwinValue is one value of a property with the time it was set.
type TwinValue struct {
	Value    string        `json:"value"`
	Metadata ValueMetadata `json:"metadata"`
}

// TypeMetadata names the value type of a property in lower case, as KubeEdge
// devices expect: string, int, float, double, boolean, bytes or stream.
type TypeMetadata struct {
	Type string `json:"type"`
}

// Twin is one property of a device's twin (MsgTwin in REFERENCE.md). Expected
// is the value wanted (from the cloud's desired value or an app), Actual the
// value the device reports; either may be nil. Optional properties were
// added at the edge and may be deleted there; the properties a Device
// declares are not optional. The versions are stored with the twin and
// removed by [Public] before anything is published.
type Twin struct {
	Expected        *TwinValue   `json:"expected,omitempty"`
	Actual          *TwinValue   `json:"actual,omitempty"`
	Optional        bool         `json:"optional"`
	Metadata        TypeMetadata `json:"metadata"`
	ExpectedVersion Version      `json:"expected_version,omitzero"`
	ActualVersion   Version      `json:"actual_version,omitzero"`
}

// Clone returns a deep copy of t; nil for nil.
func (t *Twin) Clone() *Twin {
	if t == nil {
		return nil
	}
	c := *t
	if t.Expected != nil {
		v := *t.Expected
		c.Expected = &v
	}
	if t.Actual != nil {
		v := *t.Actual
		c.Actual = &v
	}
	return &c
}

// public returns a deep copy of t without versions; nil for nil.
func (t *Twin) public() *Twin {
	c := t.Clone()
	if c != nil {
		c.ExpectedVersion = Version{}
		c.ActualVersion = Version{}
	}
	return c
}

// Public returns a deep copy of twins without the version counters: what
// applications may see. Every encoder in this package applies it.
func Public(twins map[string]*Twin) map[string]*Twin {
	out := make(map[string]*Twin, len(twins))
	for name, t := range twins {
		out[name] = t.public()
	}
	return out
}

// cloneTwins returns a deep copy of twins, versions included.
func cloneTwins(twins map[string]*Twin) map[string]*Twin {
	out := make(map[string]*Twin, len(twins))
	for name, t := range twins {
		out[name] = t.Clone()
	}
	return out
}

// Attribute is a static attribute of a device (MsgAttr in KubeEdge).
type Attribute struct {
	Value    string       `json:"value"`
	Optional bool         `json:"optional"`
	Metadata TypeMetadata `json:"metadata"`
}

// Device is a device as membership payloads describe it. LastOnline is as
// the module keeps it (a formatted time); empty fields are left out.
type Device struct {
	ID          string                `json:"id"`
	Name        string                `json:"name"`
	Description string                `json:"description,omitempty"`
	State       string                `json:"state,omitempty"`
	LastOnline  string                `json:"last_online,omitempty"`
	Attributes  map[string]*Attribute `json:"attributes,omitempty"`
	Twin        map[string]*Twin      `json:"twin,omitempty"`
}

// public returns a copy of d whose twin has no versions.
func (d Device) public() Device {
	if d.Twin != nil {
		d.Twin = Public(d.Twin)
	}
	if d.Attributes != nil {
		d.Attributes = maps.Clone(d.Attributes)
	}
	return d
}
