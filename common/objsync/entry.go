package objsync

import (
	"encoding/json"
	"fmt"

	"github.com/tether-edge/tether/common/message"
)

// Operations of the sync protocol.
const (
	// OpSynced marks the end of the difference sent after a connect.
	OpSynced message.Operation = "synced"
	// OpAck acknowledges every sequence number up to its Header.Seq.
	OpAck message.Operation = "ack"
	// OpManifest carries the edge's manifest, the first message of a session.
	OpManifest message.Operation = "manifest"
)

// Version identifies one version of one object.
type Version struct {
	// UID is the object's metadata.uid; it changes when an object is deleted
	// and created again under the same name.
	UID string
	// ResourceVersion is the object's metadata.resourceVersion.
	ResourceVersion string
}

// Entry is one object the edge holds, as listed in its manifest.
type Entry struct {
	// Key is the object's resource in edge form (no Node).
	Key message.Resource
	Version
}

// Object is one member of a node's desired set.
type Object struct {
	// Key is the object's resource in edge form (no Node).
	Key message.Resource
	Version
	// Source is the cloud module that owns the object; it becomes the sync
	// message's Route.Source.
	Source string
	// Content is the object's JSON, handed to the edge as is.
	Content []byte
}

// ObjectFrom builds an Object from a message carrying an object: its
// resource (node stripped), Header.ResourceVersion, Route.Source, Content,
// and the UID read from the content's metadata.uid.
func ObjectFrom(m message.Message) (Object, error) {
	uid, err := UIDOf(m.Content)
	if err != nil {
		return Object{}, fmt.Errorf("object %s: %w", m.Route.Resource, err)
	}
	return Object{
		Key:     m.Route.Resource.WithoutNode(),
		Version: Version{UID: uid, ResourceVersion: m.Header.ResourceVersion},
		Source:  m.Route.Source,
		Content: m.Content,
	}, nil
}

// UIDOf reads metadata.uid from an object's JSON. An object without one has
// the empty UID; content that is not a JSON object is an error.
func UIDOf(content []byte) (string, error) {
	var o struct {
		Metadata struct {
			UID string `json:"uid"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(content, &o); err != nil {
		return "", fmt.Errorf("read metadata.uid: %w", err)
	}
	return o.Metadata.UID, nil
}

// manifestLine is an Entry on the wire: short names, the resource in its
// string form.
type manifestLine struct {
	Key string `json:"k"`
	UID string `json:"u,omitempty"`
	RV  string `json:"v,omitempty"`
}

// EncodeManifest renders entries as the content of a manifest message.
func EncodeManifest(entries []Entry) ([]byte, error) {
	lines := make([]manifestLine, len(entries))
	for i, e := range entries {
		if err := e.Key.Validate(); err != nil {
			return nil, fmt.Errorf("manifest entry %d: %w", i, err)
		}
		lines[i] = manifestLine{Key: e.Key.WithoutNode().String(), UID: e.UID, RV: e.ResourceVersion}
	}
	return json.Marshal(lines)
}

// DecodeManifest parses a manifest message's content. Every key must be a
// valid edge-form resource naming one object, and appear once.
func DecodeManifest(content []byte) ([]Entry, error) {
	var lines []manifestLine
	if err := json.Unmarshal(content, &lines); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	entries := make([]Entry, len(lines))
	seen := make(map[message.Resource]struct{}, len(lines))
	for i, l := range lines {
		r, err := message.ParseResource(l.Key)
		if err != nil {
			return nil, fmt.Errorf("manifest entry %d: %w", i, err)
		}
		if r.Node != "" || r.Name == "" {
			return nil, fmt.Errorf("manifest entry %d: key %q must be <namespace>/<type>/<name>", i, l.Key)
		}
		if _, dup := seen[r]; dup {
			return nil, fmt.Errorf("manifest entry %d: key %q listed twice", i, l.Key)
		}
		seen[r] = struct{}{}
		entries[i] = Entry{Key: r, Version: Version{UID: l.UID, ResourceVersion: l.RV}}
	}
	return entries, nil
}
