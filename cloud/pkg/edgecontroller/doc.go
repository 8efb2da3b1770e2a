// Package edgecontroller is cloudcore's EdgeController: a beehive module
// that keeps each edge node's desired set in CloudHub (down) and applies
// what edge nodes send up to the apiserver (up). Start runs both halves
// until its context ends; a failure of either stops both.
//
// # The desired set of an edge node
//
// An edge node is a Node labelled node-role.kubernetes.io/edge (any
// value). Its desired set is
//
//   - its Node (null/node/<name>);
//   - the pods whose spec.nodeName is the node, whatever their phase
//     (<ns>/pod/<name>);
//   - the configmaps and secrets those pods use (<ns>/configmap/<name>,
//     <ns>/secret/<name>): volumes (configMap, secret, and the configMap
//     and secret sources of projected volumes), env valueFrom
//     configMapKeyRef and secretKeyRef, envFrom configMapRef and secretRef
//     of init, app and ephemeral containers, and imagePullSecrets.
//     Optional references count: if the object exists the edge gets it.
//
// The downstream half sends the hub (Options.Hub) an insert (an object
// entering the node's set) or an update (a newer version) carrying the
// object's JSON, with apiVersion and kind set and metadata.managedFields
// dropped, and Header.ResourceVersion its resourceVersion; or a delete
// when the object leaves the set: it was deleted, its pod left the node or
// stopped using it, or the node was deleted or lost its label (then every
// object of its set is deleted, the Node last). Every message names the
// node in Route.Resource (node/<node>/<ns>/<type>/<name>). Per object and
// node the messages are sent in the order the cluster changed: never an
// older version after a newer one. An object is sent before the pod that
// needs it when both are known.
//
// The upstream half also asks whether a node's pod uses a service
// account: spec.serviceAccountName, "default" when empty. Service
// accounts are never sent.
//
// # How it scales
//
// The informers hold only what edge nodes need; there is no cluster-wide
// cache of pods, configmaps or secrets, and nothing is written to the
// apiserver for the downstream half.
//
//   - One Node informer, restricted by the edge label selector.
//   - Per edge node, one pod watch restricted by the field selector
//     spec.nodeName=<node>, as a kubelet's; started when the node appears,
//     stopped when it leaves.
//   - Per configmap or secret some edge pod uses, one watch of that object
//     alone (its namespace, metadata.name=<name>), as the kubelet's
//     watch-based configmap and secret managers do; reference-counted
//     across all nodes, started when the first pod uses it and stopped when
//     the last one stops.
//
// So the apiserver serves (edge nodes + distinct referenced objects + 1)
// watches, and memory holds the edge nodes, their pods and the objects
// they use, each once however many nodes share it. Pod and object watches
// are plain informers (a reflector and a handler, no shared processor).
//
// # Concurrency
//
// Informer handlers do not decide anything: they put typed events on one
// bounded queue (when it is full they wait, and their informer buffers),
// which a single loop takes in order. The loop owns the tracker (the pure
// state machine, tracker.go), starts and stops watches as it says, and
// sends each step's messages with Bus.Send before taking the next event,
// so a slow hub slows the loop, never reorders it. An event of a watch
// already stopped is dropped. The index the upstream half queries (node,
// podOnNode, uses, object) reads the tracker under a read lock and is
// safe from any goroutine; objects it returns belong to the cache and must
// not be changed.
//
// A run of the downstream half ends by cancelling every informer and
// waiting for them. It can run again: the tracker is kept, every watch it
// needs restarts, and as each first list comes in, what the tracker holds
// but the cluster no longer has is deleted from the hub.
//
// # Readiness
//
// Synced is closed once the first run has sent the desired set of every
// edge node the first Node list held: the Node list, then each of those
// nodes' pod lists, then the first list of every object watch their pods
// need, each handled and sent. Nodes and references appearing later do
// not delay it. cloudcore passes it to cloudhub as Options.Ready: until it
// is closed the hub refuses nodes as unavailable (try later), so no
// node's manifest is compared with a half-loaded desired set, which
// would delete what the edge rightly holds.
//
// # Upstream
//
// What edge nodes send up is kubemsg's table: Node registration, node
// status, lease renewals, pod status, events, queries for a configmap, a
// secret or a service-account token, the creation and deletion of
// mirror pods (the API's view of the node's static pods), and the final
// delete of a pod that stopped. CloudHub
// delivers it to the group kubemsg.Group with the node's identity (from
// its certificate) in Route.Resource.Node.
//
// Every message is authorized by that identity and the index, never by
// its content: a node may register, patch and lease only itself, patch
// the status only of the pods bound to it (with the uid it names),
// create events only about itself or its pods, read only the
// configmaps, secrets and service-account tokens its pods use, create
// only its own mirror pods (the NodeRestriction admission plugin's rules:
// bound to it, owned by its Node, referencing no other API object) and
// delete only mirror pods bound to it (as the apiserver holds them, read
// when the delete is applied), and remove only pods bound to it that the
// cluster is deleting (deletionTimestamp set, as read when the delete is
// applied; or its mirror pods): `kubectl delete pod` only marks a pod,
// and the node finishes the deletion once its containers stopped, as a
// kubelet does, so a node can never remove a running pod the cluster did
// not ask to delete. Both deletes name the pod's uid: they are sent with
// grace 0 and the uid as precondition, and a pod gone or replaced by
// another uid is answered ok and left alone. A denial is logged at Warn ("denied an
// upstream message"), counted (Denials), answered "forbidden: <reason>"
// if it was a request, and changes nothing.
//
// Allowed messages are applied by Workers goroutines, one node's always on
// the same one, so they apply in arrival order while nodes proceed in
// parallel; each apiserver call is bounded. Node and pod status are
// strategic-merge patches of the status subresource computed from the
// cached object, as the kubelet does; a Lease is renewed with the
// controller's clock (Options.Now), which is all the node-lifecycle
// controller needs. Requests are always answered; statuses never are.
package edgecontroller
