// Package twin is DeviceTwin's pure core: the JSON payloads of the
// $hw/events/... MQTT topics (REFERENCE.md), their validation, and the
// rules by which a device's twin changes. It does no I/O and keeps no
// state; every function is safe to call concurrently. The DeviceTwin module
// stores twins, serialises the changes to one device, and publishes what
// these functions return.
//
// # Model
//
// A device's twin is a map from property name to [*Twin]: an expected
// value, an actual value, whether the property is optional, its value type,
// and a [Version] per value. Two parties change it:
//
//   - the edge (a device, mapper or app) through twin/update: [ParseUpdate]
//     then [Update]. It may set expected and actual values, add optional
//     properties and delete them;
//   - the cloud through the Device's spec: [ApplyDesired], gated by the
//     Device's metadata.generation so a re-sent or older Device never
//     overwrites what the edge set since.
//
// Both return an [Outcome]: the new twin (the input is never modified),
// which properties to store and to report to the cloud, and the payloads
// to publish: the update result, the document of what changed, and a delta
// when some expected value differs from its actual value.
//
// # Payloads
//
// Parse functions decode a request and check it: event_id (a string, may
// be empty as KubeEdge mappers send it) and timestamp (integer ms) must be
// present, names are at most [MaxNameBytes] and values at most
// [MaxValueBytes] bytes. Every refusal is a [*PayloadError] whose reason
// names the field or property; [ErrorResultFor] turns it into the 400
// error result, [EncodeError] builds any other (404 for an unknown device).
//
// Everything encoded for applications goes through [Public], so version
// counters never leave the edge. Payloads that answer a request carry the
// request's event_id; others carry a fresh one (common/message.NewID). All
// timestamps are the caller's now in milliseconds.
package twin
