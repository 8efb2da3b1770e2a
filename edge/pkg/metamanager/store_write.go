// The store's writes: validation in the caller, then one writer goroutine
// that commits them in batches (group commit).

package metamanager

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
	"github.com/tether-edge/tether/common/wire"
)

// writeKind says what a writeOp does.
type writeKind uint8

const (
	writePutObject writeKind = iota
	writeDeleteObject
	writePutStatus
	writeDeleteStatus
	// A device's writes (store_devices.go): one op runs several of them.
	writeEnsureDevice
	writeSetDeviceState
	writePutDeviceTwin
	writeDeleteDeviceTwin
	writePutDeviceAttribute
	writeDeleteDeviceAttribute
	writeDeleteDevice
	writeDeleteDeviceTwins
	writeDeleteDeviceAttributes
)

// writeOp is one validated write on its way to the writer, and its answer.
type writeOp struct {
	kind      writeKind
	key       message.Resource
	version   objsync.Version
	timestamp int64
	// data is the object's content (writePutObject) or the status's frame
	// (writePutStatus).
	data []byte
	// device is the change of a writeEnsureDevice or writeDeleteDevice op.
	device *DeviceChange

	// Set by the writer before it closes done.
	kept bool
	err  error
	done chan struct{}
}

// Apply stores a sync message: OpInsert and OpUpdate put the object
// (Route.Resource, Header.ResourceVersion, Content, and the uid read from
// the content), OpDelete removes it (an absent object is fine) and, for a
// pod, its kept status. It returns once the change is committed. Any other
// operation, a resource that names no object, or content that is not a
// JSON object is an error and writes nothing. If ctx ends first, Apply
// returns ctx.Err() and the change may or may not be committed.
func (s *Store) Apply(ctx context.Context, m message.Message) error {
	op, err := objectWrite(m)
	if err != nil {
		return fmt.Errorf("metamanager: apply %s %s: %w", m.Route.Operation, m.Route.Resource, err)
	}
	return s.write(ctx, op)
}

// objectWrite validates a sync message into its write.
func objectWrite(m message.Message) (*writeOp, error) {
	key := m.Route.Resource
	switch m.Route.Operation {
	case message.OpInsert, message.OpUpdate:
		if err := checkObjectKey(key); err != nil {
			return nil, err
		}
		uid, err := checkObject(m.Content)
		if err != nil {
			return nil, err
		}
		return &writeOp{
			kind:    writePutObject,
			key:     key,
			version: objsync.Version{UID: uid, ResourceVersion: m.Header.ResourceVersion},
			data:    m.Content,
		}, nil
	case message.OpDelete:
		if err := checkObjectKey(key); err != nil {
			return nil, err
		}
		return &writeOp{kind: writeDeleteObject, key: key}, nil
	default:
		return nil, fmt.Errorf("operation %q is not %s, %s or %s", m.Route.Operation, message.OpInsert, message.OpUpdate, message.OpDelete)
	}
}

// checkObjectKey accepts a resource that names one object, in edge form.
func checkObjectKey(key message.Resource) error {
	if err := key.Validate(); err != nil {
		return err
	}
	switch {
	case key.Type == "":
		return fmt.Errorf("%w: resource %q has no type", message.ErrBadResource, key)
	case key.Name == "":
		return fmt.Errorf("%w: resource %q names no object", message.ErrBadResource, key)
	case key.Node != "":
		return fmt.Errorf("%w: resource %q names node %q; the store keys objects in edge form", message.ErrBadResource, key, key.Node)
	}
	return nil
}

// checkObject accepts content that is one JSON object and returns its
// metadata.uid.
func checkObject(content []byte) (string, error) {
	trimmed := bytes.TrimLeft(content, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return "", fmt.Errorf("content is not a JSON object (%d bytes, starting %.20q)", len(content), trimmed)
	}
	if !json.Valid(content) {
		return "", fmt.Errorf("content is not valid JSON (%d bytes)", len(content))
	}
	uid, err := objsync.UIDOf(content)
	if err != nil {
		return "", fmt.Errorf("content: %w", err)
	}
	return uid, nil
}

// PutStatus keeps a status produced at the edge, keyed by its
// Route.Resource, until a newer one replaces it. kept is false, and
// nothing is written, when the kept status has a larger Header.Timestamp;
// an equal one is replaced. The whole message is kept.
func (s *Store) PutStatus(ctx context.Context, m message.Message) (kept bool, err error) {
	key := m.Route.Resource
	if err := checkObjectKey(key); err != nil {
		return false, fmt.Errorf("metamanager: keep status %s: %w", key, err)
	}
	frame, err := wire.Codec{}.Encode(m)
	if err != nil {
		return false, fmt.Errorf("metamanager: keep status %s: %w", key, err)
	}
	op := &writeOp{kind: writePutStatus, key: key, timestamp: m.Header.Timestamp, data: frame}
	if err := s.write(ctx, op); err != nil {
		return false, err
	}
	return op.kept, nil
}

// DeleteStatus drops the status kept for key, if any.
func (s *Store) DeleteStatus(ctx context.Context, key message.Resource) error {
	if err := checkObjectKey(key); err != nil {
		return fmt.Errorf("metamanager: delete status %s: %w", key, err)
	}
	return s.write(ctx, &writeOp{kind: writeDeleteStatus, key: key})
}

// write hands op to the writer and waits for its commit.
func (s *Store) write(ctx context.Context, op *writeOp) error {
	if s.writer == nil {
		return errStoreReadOnly
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	op.done = make(chan struct{})
	select {
	case s.ops <- op:
	case <-s.closed.Done():
		return errStoreClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once taken, the writer answers before it stops.
	select {
	case <-op.done:
		return op.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
