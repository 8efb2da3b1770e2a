package objsync

import (
	"bytes"
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
// the empty UID; content that is not a JSON object is an error. It reads
// only as far as the uid (Kubernetes objects put metadata first), so the
// rest of a large object costs nothing and is not checked here.
func UIDOf(content []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(content))
	uid, err := findUID(dec)
	if err != nil {
		return "", fmt.Errorf("read metadata.uid: %w", err)
	}
	return uid, nil
}

func findUID(dec *json.Decoder) (string, error) {
	if err := openObject(dec); err != nil {
		return "", err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", err
		}
		if key != "metadata" {
			if err := skipValue(dec); err != nil {
				return "", err
			}
			continue
		}
		if err := openObject(dec); err != nil {
			return "", fmt.Errorf("metadata: %w", err)
		}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return "", err
			}
			if key == "uid" {
				var uid string
				if err := dec.Decode(&uid); err != nil {
					return "", fmt.Errorf("metadata.uid: %w", err)
				}
				return uid, nil
			}
			if err := skipValue(dec); err != nil {
				return "", err
			}
		}
		return "", nil
	}
	return "", nil
}

func openObject(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("want a JSON object, got %v", tok)
	}
	return nil
}

func skipValue(dec *json.Decoder) error {
	var skip json.RawMessage
	return dec.Decode(&skip)
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
