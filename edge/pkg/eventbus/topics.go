package eventbus

import (
	"strings"
	"unicode/utf8"
)

// Subscription is one topic filter EventBus subscribes and its QoS.
type Subscription struct {
	Filter string
	QoS    byte
}

// Subscriptions returns the filters EventBus subscribes, in a new slice:
// devices' twin requests and state updates at QoS 1, membership queries and
// uploads at QoS 0. Only publications matching one of them reach the bus.
func Subscriptions() []Subscription {
	return []Subscription{
		{Filter: "$hw/events/device/+/+/twin/+", QoS: 1},
		{Filter: "$hw/events/device/+/+/state/update", QoS: 1},
		{Filter: "$hw/events/node/+/membership/get", QoS: 0},
		{Filter: "$hw/events/upload/#", QoS: 0},
	}
}

// QoS is the QoS EventBus publishes topic with: 1 for a device's twin and
// state topics ($hw/events/device/<ns>/<name>/twin/... and .../state/...),
// 0 for every other.
func QoS(topic string) byte {
	levels := strings.SplitN(topic, "/", 7)
	if len(levels) < 6 || levels[0] != "$hw" || levels[1] != "events" || levels[2] != "device" {
		return 0
	}
	if levels[5] == "twin" || levels[5] == "state" {
		return 1
	}
	return 0
}

// maxTopicBytes is the longest topic name MQTT encodes (a 16-bit length).
const maxTopicBytes = 65535

// validTopic reports whether topic can be published on: a non-empty UTF-8
// name without wildcards or NUL, short enough for MQTT.
func validTopic(topic string) bool {
	return topic != "" && len(topic) <= maxTopicBytes && utf8.ValidString(topic) &&
		!strings.ContainsAny(topic, "+#\x00")
}
