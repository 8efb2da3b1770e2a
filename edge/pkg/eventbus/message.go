package eventbus

import "github.com/tether-edge/tether/common/message"

// Name is the module's name on the bus; NewPublish addresses it.
const Name = "eventbus"

// ResourceType is Route.Resource.Type of every message EventBus sends or
// takes; Resource.Name is the MQTT topic.
const ResourceType = "mqtt"

// OpPublish asks EventBus to publish a message's content (see NewPublish).
const OpPublish message.Operation = "publish"

// NewPublication is the message EventBus hands to the module destination
// for a publication that arrived on topic: op OpUpload, resource
// {Type: ResourceType, Name: topic}, content the payload, unchanged.
func NewPublication(destination, topic string, payload []byte) message.Message {
	return message.New(Name, destination, message.OpUpload, message.Resource{Type: ResourceType, Name: topic}, payload)
}

// Publication reads a message made by NewPublication: the topic it arrived
// on and its payload. ok is false for any other message.
func Publication(m message.Message) (topic string, payload []byte, ok bool) {
	return read(m, message.OpUpload)
}

// NewPublish asks EventBus, from the module source, to publish payload on
// topic, with the topic's QoS (see QoS) and not retained.
func NewPublish(source, topic string, payload []byte) message.Message {
	return message.New(source, Name, OpPublish, message.Resource{Type: ResourceType, Name: topic}, payload)
}

// publishRequest reads a message made by NewPublish. ok is false for any
// other message and for a topic nobody can publish on.
func publishRequest(m message.Message) (topic string, payload []byte, ok bool) {
	topic, payload, ok = read(m, OpPublish)
	return topic, payload, ok && validTopic(topic)
}

func read(m message.Message, op message.Operation) (string, []byte, bool) {
	r := m.Route.Resource
	if m.Route.Operation != op || r.Type != ResourceType || r.Name == "" || r.Namespace != "" || r.Node != "" {
		return "", nil, false
	}
	return r.Name, m.Content, true
}
