package twin

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tether-edge/tether/common/message"
)

// BaseMessage is what every payload carries: the event it belongs to and
// when it was made, in milliseconds since the epoch.
type BaseMessage struct {
	EventID   string `json:"event_id"`
	Timestamp int64  `json:"timestamp"`
}

// replyBase returns the header of a payload answering the request eventID.
func replyBase(eventID string, now time.Time) BaseMessage {
	return BaseMessage{EventID: eventID, Timestamp: now.UnixMilli()}
}

// freshBase returns the header of a payload the edge originates.
func freshBase(now time.Time) BaseMessage {
	return BaseMessage{EventID: message.NewID(), Timestamp: now.UnixMilli()}
}

// UpdateRequest is a twin/update payload. A nil entry in Twin deletes that
// property (allowed for optional ones only).
type UpdateRequest struct {
	BaseMessage
	Twin map[string]*Twin `json:"twin"`
}

// TwinResult is the payload of twin/update/result and twin/get/result. In
// an update result a deleted property is null.
type TwinResult struct {
	BaseMessage
	Twin map[string]*Twin `json:"twin"`
}

// Delta is a twin/update/delta payload: Delta maps each property whose
// expected value differs from its actual value to the expected value; Twin
// is the whole twin.
type Delta struct {
	BaseMessage
	Twin  map[string]*Twin  `json:"twin"`
	Delta map[string]string `json:"delta"`
}

// DocEntry is one property's change: Last is nil for an added property,
// Current nil for a deleted one.
type DocEntry struct {
	Last    *Twin `json:"last"`
	Current *Twin `json:"current"`
}

// Document is a twin/update/document payload: the properties that changed.
type Document struct {
	BaseMessage
	Twin map[string]*DocEntry `json:"twin"`
}

// GetRequest is a twin/get or membership/get payload.
type GetRequest struct {
	BaseMessage
}

// Device states a device or mapper may publish on state/update.
const (
	StateOnline    = "online"
	StateOffline   = "offline"
	StateOK        = "ok"
	StateUnknown   = "unknown"
	StateUnhealthy = "unhealthy"
)

// StateUpdateRequest is a state/update payload; State is one of the State
// constants.
type StateUpdateRequest struct {
	BaseMessage
	State string `json:"state"`
}

// DeviceState is the device part of a state/update/result payload.
type DeviceState struct {
	Name           string `json:"name"`
	State          string `json:"state"`
	LastOnlineTime string `json:"lastOnlineTime"`
}

// StateResult is a state/update/result payload.
type StateResult struct {
	BaseMessage
	Device DeviceState `json:"device"`
}

// MembershipGetResult is a membership/get/result payload.
type MembershipGetResult struct {
	BaseMessage
	Devices []Device `json:"devices"`
}

// MembershipUpdated is a membership/updated payload.
type MembershipUpdated struct {
	BaseMessage
	AddedDevices   []Device `json:"added_devices"`
	RemovedDevices []Device `json:"removed_devices"`
}

// DeviceUpdated is the payload of a device's updated topic: its attributes.
type DeviceUpdated struct {
	BaseMessage
	Attributes map[string]*Attribute `json:"attributes"`
}

// ErrorResult is published on a /result topic instead of the result when a
// request fails. Code is 400, 404, 409 or 500.
type ErrorResult struct {
	BaseMessage
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// Error codes of an ErrorResult.
const (
	CodeBadRequest = 400
	CodeNotFound   = 404
	CodeConflict   = 409
	CodeInternal   = 500
)

// encode marshals a payload type of this package. They hold only strings,
// integers, booleans, maps and slices of those, which always marshal.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("twin: marshal %T: %v", v, err))
	}
	return b
}

// EncodeGetResult returns the twin/get/result answering the get eventID.
func EncodeGetResult(eventID string, twins map[string]*Twin, now time.Time) []byte {
	return encode(TwinResult{BaseMessage: replyBase(eventID, now), Twin: Public(twins)})
}

// EncodeStateResult returns a state/update/result with a fresh event id.
// lastOnline is formatted as RFC 3339 in UTC, or empty when zero.
func EncodeStateResult(name, state string, lastOnline, now time.Time) []byte {
	last := ""
	if !lastOnline.IsZero() {
		last = lastOnline.UTC().Format(time.RFC3339)
	}
	return encode(StateResult{
		BaseMessage: freshBase(now),
		Device:      DeviceState{Name: name, State: state, LastOnlineTime: last},
	})
}

// EncodeMembershipGetResult returns the membership/get/result answering
// the get eventID.
func EncodeMembershipGetResult(eventID string, devices []Device, now time.Time) []byte {
	return encode(MembershipGetResult{BaseMessage: replyBase(eventID, now), Devices: publicDevices(devices)})
}

// EncodeMembershipUpdated returns a membership/updated with a fresh event id.
func EncodeMembershipUpdated(added, removed []Device, now time.Time) []byte {
	return encode(MembershipUpdated{
		BaseMessage:    freshBase(now),
		AddedDevices:   publicDevices(added),
		RemovedDevices: publicDevices(removed),
	})
}

// EncodeDeviceUpdated returns a device's updated payload with a fresh event
// id.
func EncodeDeviceUpdated(attributes map[string]*Attribute, now time.Time) []byte {
	if attributes == nil {
		attributes = map[string]*Attribute{}
	}
	return encode(DeviceUpdated{BaseMessage: freshBase(now), Attributes: attributes})
}

// EncodeError returns an error result for the request eventID.
func EncodeError(eventID string, code int, reason string, now time.Time) []byte {
	return encode(ErrorResult{
		BaseMessage: replyBase(eventID, now),
		Code:        code,
		Reason:      reason,
	})
}

// ErrorResultFor returns the error result for a request that failed with
// err: 400 with the reason for a [*PayloadError], else 500 with err's text.
func ErrorResultFor(eventID string, err error, now time.Time) []byte {
	if pe, ok := errors.AsType[*PayloadError](err); ok {
		return EncodeError(eventID, CodeBadRequest, pe.Reason, now)
	}
	return EncodeError(eventID, CodeInternal, err.Error(), now)
}

// publicDevices copies devices without twin versions; never nil, so the
// JSON has [] rather than null.
func publicDevices(devices []Device) []Device {
	out := make([]Device, 0, len(devices))
	for _, d := range devices {
		out = append(out, d.public())
	}
	return out
}
