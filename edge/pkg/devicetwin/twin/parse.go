package twin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on what a payload may carry (REFERENCE.md).
const (
	MaxNameBytes  = 128 // a property name
	MaxValueBytes = 512 // a property value
)

// PayloadError is a request this package refuses: malformed JSON, a field
// missing or of the wrong type, a name or value too long, or an update the
// twin does not allow. Reason names the field or property; the module
// answers it with a 400 error result (see [ErrorResultFor]).
type PayloadError struct {
	Reason string
}

func (e *PayloadError) Error() string { return "bad payload: " + e.Reason }

func payloadErrorf(format string, args ...any) *PayloadError {
	return &PayloadError{Reason: fmt.Sprintf(format, args...)}
}

// wireBase reads the header fields so that missing ones can be told apart.
type wireBase struct {
	EventID   *string `json:"event_id"`
	Timestamp *int64  `json:"timestamp"`
}

// wireUpdate and wireState repeat wireBase's fields rather than embed it, so
// that decoding errors name the fields as the payload does.
type wireUpdate struct {
	EventID   *string                    `json:"event_id"`
	Timestamp *int64                     `json:"timestamp"`
	Twin      map[string]json.RawMessage `json:"twin"`
}

type wireTwin struct {
	Expected *wireValue    `json:"expected"`
	Actual   *wireValue    `json:"actual"`
	Metadata *TypeMetadata `json:"metadata"`
}

type wireValue struct {
	Value    *string        `json:"value"`
	Metadata *ValueMetadata `json:"metadata"`
}

type wireState struct {
	EventID   *string `json:"event_id"`
	Timestamp *int64  `json:"timestamp"`
	State     *string `json:"state"`
}

// ParseUpdate decodes and checks a twin/update payload. A property set to
// null is a nil entry; "optional" and version fields in the request are
// ignored. On error the request's EventID is set when it could be read, so
// the error result can carry it.
func ParseUpdate(payload []byte) (UpdateRequest, error) {
	var w wireUpdate
	err := decode(payload, &w, "")
	head := wireBase{w.EventID, w.Timestamp}
	req := UpdateRequest{BaseMessage: head.base()}
	if err != nil {
		return req, err
	}
	if err := head.check(); err != nil {
		return req, err
	}
	if w.Twin == nil {
		return req, payloadErrorf("missing field twin")
	}
	req.Twin = make(map[string]*Twin, len(w.Twin))
	for name, raw := range w.Twin {
		t, err := parseTwin(name, raw)
		if err != nil {
			return UpdateRequest{BaseMessage: req.BaseMessage}, err
		}
		req.Twin[name] = t
	}
	if err := checkRequest(req); err != nil {
		return UpdateRequest{BaseMessage: req.BaseMessage}, err
	}
	return req, nil
}

// parseTwin decodes one property of an update; nil for null.
func parseTwin(name string, raw json.RawMessage) (*Twin, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	field := "twin." + name
	var w wireTwin
	if err := decode(raw, &w, field+"."); err != nil {
		return nil, err
	}
	t := &Twin{}
	if w.Metadata != nil {
		t.Metadata = *w.Metadata
	}
	var err error
	if t.Expected, err = w.Expected.value(field + ".expected"); err != nil {
		return nil, err
	}
	if t.Actual, err = w.Actual.value(field + ".actual"); err != nil {
		return nil, err
	}
	return t, nil
}

func (w *wireValue) value(field string) (*TwinValue, error) {
	if w == nil {
		return nil, nil
	}
	if w.Value == nil {
		return nil, payloadErrorf("missing field %s.value", field)
	}
	v := &TwinValue{Value: *w.Value}
	if w.Metadata != nil {
		v.Metadata = *w.Metadata
	}
	return v, nil
}

// ParseGet decodes and checks a twin/get or membership/get payload.
func ParseGet(payload []byte) (GetRequest, error) {
	var w wireBase
	if err := decode(payload, &w, ""); err != nil {
		return GetRequest{BaseMessage: w.base()}, err
	}
	return GetRequest{BaseMessage: w.base()}, w.check()
}

// ParseStateUpdate decodes and checks a state/update payload. The state is
// matched without regard to case and returned in lower case.
func ParseStateUpdate(payload []byte) (StateUpdateRequest, error) {
	var w wireState
	err := decode(payload, &w, "")
	head := wireBase{w.EventID, w.Timestamp}
	req := StateUpdateRequest{BaseMessage: head.base()}
	if err != nil {
		return req, err
	}
	if err := head.check(); err != nil {
		return req, err
	}
	if w.State == nil {
		return req, payloadErrorf("missing field state")
	}
	switch s := strings.ToLower(*w.State); s {
	case StateOnline, StateOffline, StateOK, StateUnknown, StateUnhealthy:
		req.State = s
		return req, nil
	default:
		return req, payloadErrorf("field state: %q is not one of online, offline, ok, unknown, unhealthy", clip(*w.State))
	}
}

func (w wireBase) base() BaseMessage {
	var b BaseMessage
	if w.EventID != nil {
		b.EventID = *w.EventID
	}
	if w.Timestamp != nil {
		b.Timestamp = *w.Timestamp
	}
	return b
}

// check reports a missing header field. An empty event_id is allowed:
// KubeEdge mappers send one.
func (w wireBase) check() error {
	if w.EventID == nil {
		return payloadErrorf("missing field event_id")
	}
	if w.Timestamp == nil {
		return payloadErrorf("missing field timestamp")
	}
	return nil
}

// decode unmarshals payload into v and turns failures into PayloadErrors
// naming the field; prefix is the path of v in the payload.
func decode(payload []byte, v any, prefix string) error {
	err := json.Unmarshal(payload, v)
	if err == nil {
		return nil
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		field := prefix + te.Field
		if te.Field == "" {
			field = strings.TrimSuffix(prefix, ".")
		}
		if field == "" {
			return payloadErrorf("payload must be a JSON object, not %s", te.Value)
		}
		return payloadErrorf("field %s must be %s, not %s", field, jsonKind(te.Type.Kind().String()), te.Value)
	}
	return payloadErrorf("malformed JSON: %v", err)
}

// jsonKind names a Go kind the way a JSON user would.
func jsonKind(kind string) string {
	switch kind {
	case "int64", "int":
		return "an integer"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "map", "struct", "ptr":
		return "an object"
	default:
		return kind
	}
}

// checkRequest checks names and value sizes of an update, so that requests
// built by hand get the same checks as parsed ones.
func checkRequest(req UpdateRequest) error {
	if req.Twin == nil {
		return payloadErrorf("missing field twin")
	}
	for name, t := range req.Twin {
		if err := checkName(name); err != nil {
			return err
		}
		if t == nil {
			continue
		}
		for _, f := range []struct {
			field string
			v     *TwinValue
		}{{"expected", t.Expected}, {"actual", t.Actual}} {
			if f.v != nil && len(f.v.Value) > MaxValueBytes {
				return payloadErrorf("field twin.%s.%s.value is %d bytes, more than %d", name, f.field, len(f.v.Value), MaxValueBytes)
			}
		}
	}
	return nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return payloadErrorf("property name is empty")
	case len(name) > MaxNameBytes:
		return payloadErrorf("property name %q is %d bytes, more than %d", clip(name), len(name), MaxNameBytes)
	}
	return nil
}

// clip shortens s for an error reason.
func clip(s string) string {
	const n = 32
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
