// Package message defines the one envelope that every Tether component
// exchanges, on the in-process bus (beehive) and across the tunnel
// (common/wire encodes it).
//
// A Message has a Header (identity and timing), a Route (who sends it, where it
// goes, what to do, and what it is about) and Content, raw bytes that only the
// module owning that kind of payload decodes.
//
// Messages are values. Senders must not change Content after handing a
// message over; receivers treat it as read-only.
package message

import (
	"encoding/hex"
	"math/rand/v2"
	"time"
)

// Operation says what a message asks for or reports.
type Operation string

// The operations in use. Modules may define more; these are the shared ones.
const (
	OpInsert    Operation = "insert"
	OpUpdate    Operation = "update"
	OpDelete    Operation = "delete"
	OpQuery     Operation = "query"
	OpResponse  Operation = "response"
	OpError     Operation = "error"
	OpPatch     Operation = "patch"
	OpUpload    Operation = "upload"
	OpKeepalive Operation = "keepalive"
)

// Header identifies a message.
type Header struct {
	// ID is unique per message (see NewID).
	ID string
	// ParentID is set on a response: the ID of the request it answers.
	ParentID string
	// Timestamp is when the message was made, in milliseconds since the Unix epoch.
	Timestamp int64
	// Sync is true when the sender waits for a response.
	Sync bool
	// ResourceVersion is the resourceVersion of the object carried, if any.
	ResourceVersion string
	// Seq is the tunnel's sequence number on a reliably delivered message,
	// or the sequence number acknowledged by an ack (see common/objsync).
	// Zero elsewhere, and on the bus.
	Seq uint64
}

// Route says where a message goes and what it is about.
type Route struct {
	// Source is the sending module's name.
	Source string
	// Destination is the receiving module's name; empty when Group is set.
	Destination string
	// Group is the receiving group, for messages sent to a group.
	Group string
	// Operation is what the message asks for or reports.
	Operation Operation
	// Resource is the object the message is about; zero for none.
	Resource Resource
}

// Message is the envelope exchanged on the bus and the tunnel.
type Message struct {
	Header  Header
	Route   Route
	Content []byte
}

// New returns a message with a fresh ID and the current time, from source to
// the module destination.
func New(source, destination string, op Operation, res Resource, content []byte) Message {
	return Message{
		Header: Header{ID: NewID(), Timestamp: time.Now().UnixMilli()},
		Route: Route{
			Source:      source,
			Destination: destination,
			Operation:   op,
			Resource:    res,
		},
		Content: content,
	}
}

// NewToGroup returns a message with a fresh ID and the current time, from
// source to every module (or one module, see beehive) of group.
func NewToGroup(source, group string, op Operation, res Resource, content []byte) Message {
	m := New(source, "", op, res, content)
	m.Route.Group = group
	return m
}

// Response returns the answer to m from the module source: its ParentID is
// m's ID, it goes back to m's sender, and it is about the same resource.
func (m Message) Response(source string, op Operation, content []byte) Message {
	r := New(source, m.Route.Source, op, m.Route.Resource, content)
	r.Header.ParentID = m.Header.ID
	return r
}

// IsResponse reports whether m answers another message.
func (m Message) IsResponse() bool { return m.Header.ParentID != "" }

// NewID returns a random 128-bit identifier as 32 lower-case hex digits.
// It is cheap enough for the bus's hot path (no system call, no lock).
func NewID() string {
	var b [16]byte
	lo, hi := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		b[i] = byte(lo >> (8 * i))
		b[8+i] = byte(hi >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}
