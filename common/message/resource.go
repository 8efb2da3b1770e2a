package message

import (
	"errors"
	"fmt"
	"strings"
)

// ClusterScope is the namespace segment that stands for a cluster-scoped
// object (a Node, say) in a resource string. In a Resource value a
// cluster-scoped object has an empty Namespace.
const ClusterScope = "null"

// nodePrefix starts the cloud-side form of a resource string.
const nodePrefix = "node"

// ErrBadResource is wrapped by every error ParseResource returns.
var ErrBadResource = errors.New("bad resource")

// Resource names what a message is about. It is the only place resource
// strings are split or joined: everything else passes the struct.
//
// Two string forms exist:
//
//	<namespace>/<type>/<name>                at the edge and on the wire
//	node/<node>/<namespace>/<type>/<name>    inside cloudcore, where the node routes
//
// Name may be empty, for a message about a whole type ("default/pod" asks for
// every pod in default); then the trailing segment is left out. The zero
// Resource formats as "" and means "no particular object" (a keepalive).
type Resource struct {
	// Node is the edge node the object belongs to; empty at the edge and on the wire.
	Node string
	// Namespace is empty for a cluster-scoped object; it is written as "null".
	Namespace string
	// Type is the object's kind in lower case: pod, configmap, node, device...
	Type string
	// Name is the object's name; empty for a message about a whole type.
	Name string
}

// IsZero reports whether r names nothing.
func (r Resource) IsZero() bool { return r == Resource{} }

// WithoutNode returns r in its edge form, as it travels on the wire.
func (r Resource) WithoutNode() Resource {
	r.Node = ""
	return r
}

// OnNode returns r in its cloud form, routed to node.
func (r Resource) OnNode(node string) Resource {
	r.Node = node
	return r
}

// String formats r; ParseResource(r.String()) gives r back for every valid r.
func (r Resource) String() string {
	if r.IsZero() {
		return ""
	}
	ns := r.Namespace
	if ns == "" {
		ns = ClusterScope
	}
	var b strings.Builder
	b.Grow(len(nodePrefix) + len(r.Node) + len(ns) + len(r.Type) + len(r.Name) + 4)
	if r.Node != "" {
		b.WriteString(nodePrefix)
		b.WriteByte('/')
		b.WriteString(r.Node)
		b.WriteByte('/')
	}
	b.WriteString(ns)
	b.WriteByte('/')
	b.WriteString(r.Type)
	if r.Name != "" {
		b.WriteByte('/')
		b.WriteString(r.Name)
	}
	return b.String()
}

// Validate reports the first segment of r that cannot be formatted and parsed
// back: an empty Type, or a segment holding a '/'.
func (r Resource) Validate() error {
	if r.IsZero() {
		return nil
	}
	if r.Type == "" {
		return fmt.Errorf("%w: type is empty", ErrBadResource)
	}
	if r.Namespace == ClusterScope {
		return fmt.Errorf("%w: namespace %q is reserved for cluster scope; leave Namespace empty", ErrBadResource, ClusterScope)
	}
	for _, seg := range []struct{ name, value string }{
		{"node", r.Node}, {"namespace", r.Namespace}, {"type", r.Type}, {"name", r.Name},
	} {
		if strings.Contains(seg.value, "/") {
			return fmt.Errorf("%w: %s %q contains '/'", ErrBadResource, seg.name, seg.value)
		}
	}
	return nil
}

// ParseResource parses either string form. The empty string gives the zero
// Resource. Any other string must have 2 or 3 segments (edge form) or 4 or 5
// segments starting with "node" (cloud form), none of them empty.
func ParseResource(s string) (Resource, error) {
	if s == "" {
		return Resource{}, nil
	}
	parts := strings.Split(s, "/")
	for i, p := range parts {
		if p == "" {
			return Resource{}, fmt.Errorf("%w %q: segment %d is empty", ErrBadResource, s, i+1)
		}
	}
	var r Resource
	if parts[0] == nodePrefix && len(parts) >= 4 {
		r.Node = parts[1]
		parts = parts[2:]
	}
	switch len(parts) {
	case 3:
		r.Name = parts[2]
		fallthrough
	case 2:
		r.Namespace, r.Type = parts[0], parts[1]
	default:
		return Resource{}, fmt.Errorf("%w %q: want <namespace>/<type>[/<name>] or node/<node>/<namespace>/<type>[/<name>]", ErrBadResource, s)
	}
	if r.Namespace == ClusterScope {
		r.Namespace = ""
	}
	return r, nil
}
