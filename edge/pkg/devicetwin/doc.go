// Package devicetwin is the edge's DeviceTwin module (Name, "devicetwin"):
// it keeps each device of the node with its twin (per property: the
// expected and the actual value) in the local store, answers devices,
// mappers and apps on the $hw/events MQTT topics (REFERENCE.md "MQTT
// topics and payloads") through EventBus, and reports each device's
// status to the cloud. The rules by which a twin changes are package twin's.
//
// # What it receives
//
// From MetaManager, as a subscriber: every stored object at Start, then
// metamanager.OpLoaded, then every change the cloud syncs. It uses Devices
// and DeviceModels (common/devicemsg) and ignores the rest. A Device's
// properties become twin properties (twin.ApplyDesired, gated by the
// Device's metadata.generation), typed by its DeviceModel's properties; a
// Device that arrives before its model has string properties until the
// model comes. At OpLoaded every device the store keeps but MetaManager no
// longer holds (deleted while edgecore was down) is removed.
//
// From EventBus: each publication on a subscribed topic (eventbus
// Publication). What it answers, on the request's topic plus "/result":
//
//	$hw/events/device/<ns>/<name>/twin/update   twin.Update; then document, delta
//	$hw/events/device/<ns>/<name>/twin/get      the twin
//	$hw/events/device/<ns>/<name>/state/update  the state and lastOnlineTime
//	$hw/events/node/<node>/membership/get       every device of the node
//
// A malformed payload gets a 400 error result, a device the node does not
// have a 404, a store failure a 500; none changes anything. membership/get
// for another node is ignored (another edgecore's, on a shared broker).
// Publications on $hw/events/upload/# are counted and dropped: routing
// them to the cloud is not built yet.
//
// # What it publishes
//
// Through EventBus (eventbus.NewPublish): the results above; a twin's
// document and delta when it changed (from the edge or the cloud);
// $hw/events/node/<node>/membership/updated when a device arrives at the
// node or leaves it; $hw/events/device/<ns>/<name>/updated when the
// attributes of a known device change. Attributes are derived from the
// Device: "deviceModel" (spec.deviceModelRef.name) and "protocol"
// (spec.protocol.protocolName), as v1beta1 Devices carry no others.
// Membership payloads name a device by id "<ns>/<name>" (the two topic
// levels) and name.
//
// # Storage and ordering
//
// Each change is committed to the store (metamanager.Store.PutDevice,
// group-committed with other writes) before anything about it is
// published, so an answer never reports what a crash could lose. The
// messages of one device are handled in order by one of Options.Workers
// goroutines; different devices in parallel, which is what lets the store
// batch their commits.
//
// # Status to the cloud
//
// After a change of a device's twin or state, its status (reported and
// observed desired value per property, state, lastOnlineTime; a
// devicemsg.DeviceStatusReport naming the Device's uid) is sent to
// Options.StatusSink (MetaManager) as a status of group devicemsg.Group,
// resource <ns>/devicestatus/<name>. Status is level-triggered: a device
// changed many times before its status is sent is sent once, with its
// latest state; at OpLoaded every device is reported once, since a report
// made as edgecore stopped may not have been kept. MetaManager keeps the
// latest per device in SQLite and the
// hub sends it when the cloud is connected, across restarts too: reports
// made offline reach the Device's status on reconnection.
//
// # Lifetimes
//
// main calls New; the bus calls Start, which loads the store, then runs the
// workers and the status sender until ctx ends and joins them. Start fails
// when the store cannot be read, or receiving from the bus fails.
package devicetwin
