// Package eventbus is the edge's MQTT side: a beehive module (Name,
// "eventbus") between the $hw/events topics devices, mappers and apps use
// (REFERENCE.md "MQTT topics and payloads") and DeviceTwin. It does not parse
// payloads; DeviceTwin does, and answers malformed ones. No payload makes it
// fail.
//
// # Topics and QoS
//
// EventBus subscribes Subscriptions():
//
//	$hw/events/device/+/+/twin/+         QoS 1
//	$hw/events/device/+/+/state/update   QoS 1
//	$hw/events/node/+/membership/get     QoS 0
//	$hw/events/upload/#                  QoS 0
//
// and publishes with QoS(topic): 1 on a device's twin and state topics
// ($hw/events/device/<ns>/<name>/twin/... and .../state/...), 0 on every
// other; never retained. The result topics it publishes on are one level
// deeper than the filters, so it does not receive its own answers.
//
// # The bus contract
//
// Inbound: every publication that arrives on a subscribed topic goes to the
// module Options.Deliver as a message from "eventbus" with Route.Operation
// message.OpUpload, Route.Resource {Type: "mqtt", Name: <topic>} and Content
// the payload, byte for byte (NewPublication builds it, Publication reads
// it). A payload over maxPayloadBytes is logged and dropped. Delivery waits
// for room in the receiver's queue: a full queue slows the publisher down
// (embedded: that client's connection; external: the whole client, whose
// QoS 1 acknowledgement waits for the bus) instead of dropping.
//
// Outbound: a module asks for a publication with NewPublish(source, topic,
// payload), a message to "eventbus" with Route.Operation OpPublish and the
// same resource. EventBus publishes Content on the topic, in the order the
// requests arrive. A message it cannot use (another operation or resource, a
// topic with wildcards, empty or not UTF-8) is logged and dropped; nothing is
// answered.
//
// # Embedded mode (default)
//
// A mochi-mqtt broker (MQTT 3.1.1 and 5) listens on embedded.listen
// (127.0.0.1:1884) and lets every client in, anonymously: bind it only where
// every client is trusted. EventBus subscribes and publishes through the
// broker's inline client, without a connection. The broker refuses a packet
// larger than maxPayloadBytes plus 1 KiB of headroom for the topic and
// headers by closing the connection: an MQTT 3.1.1 client sees the connection
// lost (reset or EOF) and no acknowledgement; an MQTT 5 client is told
// "packet too large" (0x95) first. A smaller payload over maxPayloadBytes is
// acknowledged by the broker and dropped by EventBus. The broker keeps no
// state across restarts of the module or of edgecore.
//
// # External mode
//
// A paho client connects to external.server with external.clientID, a
// persistent session (clean session off) and MQTT 3.1.1. Start does not wait
// for the broker: paho tries every 2s until the first connection, and after a
// lost connection again with a back-off doubling up to 10s; each failed run of
// attempts is logged once at Warn. EventBus subscribes every filter again on
// every connection (OnConnect), so a broker that restarted without state
// gets the subscriptions back.
//
// While the broker is away: QoS 1 publications EventBus makes wait in paho's
// in-memory store and are sent on reconnection; QoS 0 ones are dropped.
// Devices' publications meanwhile are the broker's to keep: with the
// persistent session a broker that stays up queues QoS 1 ones for EventBus
// (Mosquitto: max_queued_messages); one that restarts without persistence
// loses them. When edgecore stops or restarts, the publications still in
// paho's store (not yet acknowledged by the broker) are lost.
//
// # Metrics
//
// Options.Metrics counts publications received on the subscribed topics
// and published (tether_eventbus_mqtt_messages_total{direction="in"|"out"})
// and those dropped (tether_eventbus_mqtt_dropped_total{reason}): received
// over maxPayloadBytes (too_large) or not taken by the bus (bus); publish
// requests EventBus cannot use (invalid) or the broker refused
// (publish_error). A received publication counts "in" whether or not it is
// dropped.
//
// # Lifetimes and concurrency
//
// main calls New, then the bus calls Start, which runs the broker (or the
// client) and the publishing loop until ctx ends, then stops the broker and
// joins its connections (external: paho's sleeping connect-retry goroutine,
// if it was still trying, ends up to 2s later). Start fails only when the embedded broker cannot
// listen; the bus may start it again. Connected is safe from any goroutine
// (a /healthz check): true while the embedded broker serves, or while the
// client is connected to the external broker.
package eventbus
