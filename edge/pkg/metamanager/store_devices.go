// DeviceTwin's records: each device's state, attributes and twin
// properties, written through the same group commit as objects.

package metamanager

import (
	"context"
	"errors"
	"fmt"

	"github.com/tether-edge/tether/common/message"
)

// DeviceRecord is what the store keeps of one device for DeviceTwin.
// Attributes and Twins hold DeviceTwin's JSON, by attribute and property
// name; the store does not read it.
type DeviceRecord struct {
	Namespace, Name   string
	State, LastOnline string
	Attributes        map[string][]byte
	Twins             map[string][]byte
}

// DeviceState is a device's state and when it was last online.
type DeviceState struct {
	State, LastOnline string
}

// DeviceChange is one device's change, committed at once: its state if
// State is set, the twins and attributes to put (by name, DeviceTwin's
// JSON) and those to delete. The device is recorded even if the change
// is otherwise empty.
type DeviceChange struct {
	Namespace, Name  string
	State            *DeviceState
	PutTwins         map[string][]byte
	DeleteTwins      []string
	PutAttributes    map[string][]byte
	DeleteAttributes []string
}

// errDeviceName is wrapped when a device change names no device.
var errDeviceName = errors.New("a device needs a namespace and a name")

// PutDevice commits c and returns once it is committed.
func (s *Store) PutDevice(ctx context.Context, c DeviceChange) error {
	if c.Namespace == "" || c.Name == "" {
		return fmt.Errorf("metamanager: put device %q/%q: %w", c.Namespace, c.Name, errDeviceName)
	}
	return s.write(ctx, &writeOp{kind: writeEnsureDevice, key: deviceKey(c.Namespace, c.Name), device: &c})
}

// DeleteDevice removes the device with its twins and attributes; an
// absent device is fine.
func (s *Store) DeleteDevice(ctx context.Context, namespace, name string) error {
	if namespace == "" || name == "" {
		return fmt.Errorf("metamanager: delete device %q/%q: %w", namespace, name, errDeviceName)
	}
	c := DeviceChange{Namespace: namespace, Name: name}
	return s.write(ctx, &writeOp{kind: writeDeleteDevice, key: deviceKey(namespace, name), device: &c})
}

// Devices returns every device the store keeps, ordered by namespace and
// name.
func (s *Store) Devices(ctx context.Context) ([]DeviceRecord, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	var out []DeviceRecord
	index := map[[2]string]int{}
	rows, err := s.readers.QueryContext(ctx, `SELECT namespace, name, state, last_online FROM devices ORDER BY namespace, name`)
	if err != nil {
		return nil, fmt.Errorf("metamanager: devices: %w", err)
	}
	for rows.Next() {
		d := DeviceRecord{Attributes: map[string][]byte{}, Twins: map[string][]byte{}}
		if err := rows.Scan(&d.Namespace, &d.Name, &d.State, &d.LastOnline); err != nil {
			rows.Close()
			return nil, fmt.Errorf("metamanager: devices: %w", err)
		}
		index[[2]string{d.Namespace, d.Name}] = len(out)
		out = append(out, d)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("metamanager: devices: %w", err)
	}
	for _, part := range []struct {
		query string
		into  func(*DeviceRecord) map[string][]byte
	}{
		{`SELECT namespace, name, property, content FROM device_twins`, func(d *DeviceRecord) map[string][]byte { return d.Twins }},
		{`SELECT namespace, name, attribute, content FROM device_attributes`, func(d *DeviceRecord) map[string][]byte { return d.Attributes }},
	} {
		if err := s.readDeviceParts(ctx, part.query, func(ns, name, key string, content []byte) {
			if i, ok := index[[2]string{ns, name}]; ok {
				part.into(&out[i])[key] = content
			}
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readDeviceParts calls add for each row of query (namespace, name, key,
// content).
func (s *Store) readDeviceParts(ctx context.Context, query string, add func(ns, name, key string, content []byte)) error {
	rows, err := s.readers.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("metamanager: devices: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ns, name, key string
		var content []byte
		if err := rows.Scan(&ns, &name, &key, &content); err != nil {
			return fmt.Errorf("metamanager: devices: %w", err)
		}
		add(ns, name, key, content)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("metamanager: devices: %w", err)
	}
	return nil
}

// execDeviceChange runs a device change's statements. Called inside
// conn.Raw, in the batch's transaction.
func (w *batchWriter) execDeviceChange(ctx context.Context, c *DeviceChange) error {
	ns, name := c.Namespace, c.Name
	if _, err := w.execKind(ctx, writeEnsureDevice, ns, name); err != nil {
		return err
	}
	if c.State != nil {
		if _, err := w.execKind(ctx, writeSetDeviceState, c.State.State, c.State.LastOnline, ns, name); err != nil {
			return err
		}
	}
	for prop, content := range c.PutTwins {
		if _, err := w.execKind(ctx, writePutDeviceTwin, ns, name, prop, content); err != nil {
			return err
		}
	}
	for _, prop := range c.DeleteTwins {
		if _, err := w.execKind(ctx, writeDeleteDeviceTwin, ns, name, prop); err != nil {
			return err
		}
	}
	for attr, content := range c.PutAttributes {
		if _, err := w.execKind(ctx, writePutDeviceAttribute, ns, name, attr, content); err != nil {
			return err
		}
	}
	for _, attr := range c.DeleteAttributes {
		if _, err := w.execKind(ctx, writeDeleteDeviceAttribute, ns, name, attr); err != nil {
			return err
		}
	}
	return nil
}

// execDeviceDelete removes a device and everything kept of it.
func (w *batchWriter) execDeviceDelete(ctx context.Context, c *DeviceChange) error {
	for _, kind := range []writeKind{writeDeleteDeviceTwins, writeDeleteDeviceAttributes, writeDeleteDevice} {
		if _, err := w.execKind(ctx, kind, c.Namespace, c.Name); err != nil {
			return err
		}
	}
	return nil
}

// deviceKey names a device in the writer's error messages.
func deviceKey(namespace, name string) message.Resource {
	return message.Resource{Namespace: namespace, Type: "device", Name: name}
}
