// Package devicecontroller is cloudcore's DeviceController: a beehive
// module that keeps each edge node's devices in CloudHub (down) and writes
// the device status edge nodes report to the cluster (up). Start runs both
// halves until its context ends; a failure of either stops both.
//
// # The devices of a node
//
// A node's desired set is the Devices (devices.kubeedge.io/v1beta1) whose
// spec.nodeName is the node, and the DeviceModels they reference
// (spec.deviceModelRef.name, in the device's namespace). A model is in a
// node's set once however many of the node's devices reference it
// (reference counting), and is sent before the devices that need it when
// both are known; a model that appears later follows them.
//
// The downstream half sends the hub (Options.Hub) an insert (an object
// entering the node's set) or an update (a newer version) carrying the
// object's JSON, with apiVersion and kind set and metadata.managedFields
// dropped, and Header.ResourceVersion its resourceVersion; or a delete
// when it leaves: the Device was deleted or moved to another node (a
// delete on the old node, then the model if needed and an insert on the
// new one), or no device of the node references the model any more, or
// the model was deleted. Every message names the node in Route.Resource
// (node/<node>/<ns>/device/<name>, node/<node>/<ns>/devicemodel/<name>).
//
// # Concurrency
//
// Two cluster-wide informers (DeviceModels first, then, once the models'
// first list is queued, Devices) do not decide anything: their handlers
// put events on one bounded queue (when it is full they wait and their
// informer buffers), which a single loop takes in order. The loop owns the
// tracker (the pure state machine, tracker.go) and sends each step's
// messages with Bus.Send before taking the next event, so a slow hub slows
// the loop and never reorders it. After a restart of Start the tracker is
// kept; once both first lists are handled, what it holds but the cluster
// no longer has is deleted from the hub.
//
// Synced is closed once both informers' first lists have been handled and
// sent; cloudcore holds CloudHub's readiness until then, so no node's
// manifest is compared with a half-loaded set.
//
// # Upstream
//
// What edge nodes send up is devicemsg's table: the device status. CloudHub
// delivers it to the group devicemsg.Group with the node's identity (from
// its certificate) in Route.Resource.Node. It is authorized by that
// identity and the informer cache, never by its content: the Device must
// exist, be bound to that node and have the UID the report names. A
// denial is logged at Warn ("denied an upstream message"), counted
// (Denials), answered with "forbidden: <reason>" if it was a request, and
// changes nothing. Anything else is answered (if a request) with
// "unsupported: ..." and dropped.
//
// Allowed reports are applied by Workers goroutines, one device's always
// on the same one, so they apply in arrival order. Each reads the Device
// fresh, sets status.twins (the properties its spec declares), state and
// lastOnlineTime from the report, and writes the status subresource,
// again on a conflict; nothing is written when nothing would change, and a
// Device that meanwhile moved or was replaced is left alone.
package devicecontroller
