package devicetwin

import "strings"

// action is what a publication on a subscribed topic asks for.
type action int

const (
	actionNone action = iota
	actionTwinUpdate
	actionTwinGet
	actionStateUpdate
	actionMembershipGet
	actionUpload
)

func (a action) String() string {
	switch a {
	case actionTwinUpdate:
		return "twin/update"
	case actionTwinGet:
		return "twin/get"
	case actionStateUpdate:
		return "state/update"
	case actionMembershipGet:
		return "membership/get"
	case actionUpload:
		return "upload"
	}
	return "none"
}

const (
	topicRoot   = "$hw/events/"
	topicDevice = topicRoot + "device/"
	topicNode   = topicRoot + "node/"
	topicUpload = topicRoot + "upload/"
)

// request is a publication decoded from its topic: the device (for device
// topics) or the node (membership) it is about.
type request struct {
	action  action
	topic   string
	device  key
	node    string
	payload []byte
}

// parseTopic decodes a topic EventBus subscribes. ok is false for any
// other (a twin/<verb> that is neither update nor get, say).
func parseTopic(topic string) (r request, ok bool) {
	r.topic = topic
	switch {
	case strings.HasPrefix(topic, topicUpload):
		r.action = actionUpload
		return r, true
	case strings.HasPrefix(topic, topicNode):
		parts := strings.Split(strings.TrimPrefix(topic, topicNode), "/")
		if len(parts) != 3 || parts[0] == "" || parts[1] != "membership" || parts[2] != "get" {
			return r, false
		}
		r.action, r.node = actionMembershipGet, parts[0]
		return r, true
	case strings.HasPrefix(topic, topicDevice):
		parts := strings.Split(strings.TrimPrefix(topic, topicDevice), "/")
		if len(parts) != 4 || parts[0] == "" || parts[1] == "" {
			return r, false
		}
		r.device = key{Namespace: parts[0], Name: parts[1]}
		switch parts[2] + "/" + parts[3] {
		case "twin/update":
			r.action = actionTwinUpdate
		case "twin/get":
			r.action = actionTwinGet
		case "state/update":
			r.action = actionStateUpdate
		default:
			return r, false
		}
		return r, true
	}
	return r, false
}

// resultTopic is where the answer to a request on topic goes.
func resultTopic(topic string) string { return topic + "/result" }

// deviceTopic is $hw/events/device/<ns>/<name>/<suffix>.
func deviceTopic(k key, suffix string) string {
	return topicDevice + k.Namespace + "/" + k.Name + "/" + suffix
}

// membershipUpdatedTopic is where node's membership changes are published.
func membershipUpdatedTopic(node string) string {
	return topicNode + node + "/membership/updated"
}
