// Package devicemsg says how devices travel between edge modules and
// cloudcore's DeviceController: the resource types in message resources,
// the cloud group upstream messages name, and the payload of the status
// report.
//
// # Down (cloud → edge, through the tunnel's reliable sync)
//
// DeviceController puts a node's devices in CloudHub: the Devices whose
// spec.nodeName is the node (<ns>/device/<name>) and the DeviceModels they
// reference (<ns>/devicemodel/<name>, the device's namespace), each model
// once however many of the node's devices use it, and before the devices
// that need it when both are known. Each arrives at the edge as
// OpInsert/OpUpdate with the object's JSON (apiVersion and kind set) or as
// OpDelete.
//
// # Up (edge → cloud)
//
// Edge modules address DeviceController through EdgeHub: Route.Destination
// "edgehub", Route.Group Group. The device status is a one-way,
// level-triggered message: the latest per device wins, so the edge may
// drop older unsent ones.
//
//	what           op      resource                  content             kind
//	device status  update  <ns>/devicestatus/<name>  DeviceStatusReport  status
//
// DeviceController authorizes it by the node's certificate identity (the
// node CloudHub names in the resource), never by the content: the Device
// must be bound to that node and have the UID the report names.
package devicemsg
