// Package nodestatus registers the edge's Node with the cloud and reports
// its status and heartbeat: a beehive module (Name "nodestatus", group
// "node").
//
// # Registration
//
// The module is one of edgehub's Subscribers. On every OpCloudConnected
// (or, if the hub skipped it for the newer state, the OpCloudSynced after it) it sends
// Hub a request (SendSync): op OpInsert, resource null/node/<node>,
// Route.Group kubemsg.Group, content the Node JSON (apiVersion v1, kind
// Node) with the labels node-role.kubernetes.io/edge, .../agent,
// kubernetes.io/hostname (the node's name), kubernetes.io/os and
// kubernetes.io/arch, then Config.Labels, and a status. An OpError answer or
// a failed request is retried with back-off (1s doubling to 30s, jittered)
// until it succeeds or OpCloudDisconnected comes; a success is logged once
// per connection and followed at once by a node status. The cloud must
// answer OpResponse when the Node already exists.
//
// # Status and heartbeat
//
// Connected or not, the module sends StatusSink one-way messages with
// Route.Group kubemsg.Group and Header.Timestamp the time they were made:
//
//   - at Start, every Config.UpdatePeriod and after each registration: op
//     OpUpdate, resource null/nodestatus/<node>, content corev1.NodeStatus;
//   - at Start and every Config.LeaseDuration/4: op OpUpdate, resource
//     kube-node-lease/lease/<node>, content kubemsg.LeaseRenewal.
//
// Statuses are level-triggered: StatusSink (metamanager) keeps the newest
// per resource while the cloud is away and edgehub sends it on reconnect,
// so nothing here queues or retries them.
//
// The status reports the host as Host reads it: its Machine (nodeInfo)
// once, at Start, its Resources at each report. It has capacity
// (cpu, memory, pods = Config.MaxPods, ephemeral-storage = the root
// filesystem), allocatable (capacity less Config.Reserved, never negative;
// Allocatable computes it for Edged's admission), addresses (InternalIP,
// then Hostname), nodeInfo (kubeletVersion is edgecore's version), the
// kubelet endpoint port KubeletPort, and four conditions with
// lastHeartbeatTime the report's time and lastTransitionTime kept while a
// condition's status does not change:
//
//   - MemoryPressure, DiskPressure and PIDPressure, with the kubelet's
//     reasons, from Host.Pressure read at each report against
//     Options.Pressure: less memory available than memoryAvailable, less of
//     "/" or Options.ImageFSPath available than diskAvailablePercent, fewer
//     PIDs free than pidAvailablePercent of the maximum. A zero threshold
//     never makes its condition True; with none set the host is not read
//     for them. While the reading fails each keeps its last status.
//   - Ready: False with reason KubeletNotReady and the error as message
//     while Options.Runtime reports one (the runtime is unreachable, PLEG
//     is unhealthy), else True.
//
// Options.Runtime, when set, also gives nodeInfo.containerRuntimeVersion
// and the images: the 50 largest, largest first, at most 5 names each.
//
// InternalIP is Config.InternalIP or, if empty, the local address that
// routes to CloudServer (found with a UDP "dial" that sends nothing; while
// it cannot be found the last one found is kept).
//
// # Events
//
// When Options.Events names the events module the module sends it (with
// TrySend: an event is never worth waiting for) "Starting" at Start, and
// "NodeReady" and "RegisteredNode" after the first successful registration
// of the process, each about the Node.
//
// # Goroutines
//
// Start runs the receive loop, one reporter goroutine, and at most one
// registration goroutine at a time, which the loop cancels and joins on
// disconnect. Start returns nil when its ctx ends, after joining them all.
// The module holds no package-level state.
package nodestatus
