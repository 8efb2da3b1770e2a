// Package events is the edge's event recorder: a beehive module that names,
// aggregates, bounds and rate-limits the Kubernetes Events edge modules
// report, and sends them to cloudcore's EdgeController while the cloud is
// connected.
//
// # What edge modules send
//
// A one-way message to the module (Name, "events"): op OpInsert, content a
// corev1.Event JSON (NewMessage builds one) with at least involvedObject
// kind and name (namespace and uid as the object has them), type Normal or
// Warning, reason and message. Anything else is logged and dropped; a sync
// message is answered with OpResponse or OpError. The module fills in the
// rest:
//
//   - metadata.name: <involvedObject.name>.<16 hex digits of a hash of
//     kind, name, uid, type, reason and message>, so repeats of an event
//     share a name;
//   - metadata.namespace: involvedObject.namespace, or "default" for a
//     cluster-scoped object such as the Node;
//   - source {component "edgecore", host the node}, reportingController and
//     reportingInstance alike;
//   - firstTimestamp, lastTimestamp and count.
//
// # Bounds
//
// A repeat of an event still waiting increments its count and lastTimestamp
// and takes no new slot and no token. A new event takes a token from a
// bucket (QPS, Burst); when the bucket is empty the event is dropped and
// counted. At most Buffer events wait; when the buffer is full the OLDEST is
// dropped and counted. Drops are logged at Warn at most once a minute, with
// how many there were since the last such log. The counts of the last
// Buffer events sent are remembered, so a repeat of an event already sent
// carries on its count and firstTimestamp (kubelet's correlator, simplified).
//
// # Sending, online and offline
//
// The module is one of edgehub's Subscribers. Between OpCloudConnected (or,
// if the hub skipped it for the newer state, the OpCloudSynced after it) and
// OpCloudDisconnected one sender goroutine sends the waiting events, oldest
// first and one at a time, each as a request (SendSync) to Hub: op
// OpInsert, resource <namespace>/event/<name>, Route.Group kubemsg.Group,
// content the Event JSON (apiVersion v1, kind Event).
//
//   - OpResponse: sent; the event leaves the buffer (unless a repeat came in
//     meanwhile: then the newer count is sent too).
//   - OpError whose text starts with "forbidden": dropped with a Warn log.
//   - any other failure: the event stays first in line and is retried with
//     back-off while connected; after maxAttempts failed sends it is dropped
//     with a Warn log (client-go's recorder gives up after 12 as well).
//
// While the cloud is away events only accumulate, within the bounds above.
// The receive loop never waits on the network: a disconnect cancels the
// sender's request in flight and joins it.
//
// # Concurrency
//
// New and Start are called by main; Stats is safe to call from any
// goroutine. The module holds no package-level state.
package events
