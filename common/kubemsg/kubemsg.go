// Package kubemsg says how Kubernetes objects travel between edge modules
// and cloudcore's EdgeController: the resource types in message resources,
// the cloud group upstream messages name, and the payloads of upstream
// messages that are not plain Kubernetes objects.
//
// # Down (cloud → edge, through the tunnel's reliable sync)
//
// EdgeController puts a node's desired set in CloudHub: the Node
// (null/node/<name>), the pods bound to it (<ns>/pod/<name>) and the
// configmaps and secrets those pods use (<ns>/configmap/<name>,
// <ns>/secret/<name>). Each arrives at the edge as OpInsert/OpUpdate with
// the object's JSON (apiVersion and kind set) or as OpDelete, and
// MetaManager stores it.
//
// # Up (edge → cloud)
//
// Edge modules address EdgeController through EdgeHub: Route.Destination
// "edgehub", Route.Group Group. Statuses are one-way, level-triggered
// messages (the latest per resource wins); the rest are requests
// (SendSync) answered with OpResponse or OpError.
//
//	what               op        resource                      content              kind
//	register the Node  insert    null/node/<node>              corev1.Node          request
//	node status        update    null/nodestatus/<node>        corev1.NodeStatus    status
//	lease renewal      update    kube-node-lease/lease/<node>  LeaseRenewal         status
//	pod status         update    <ns>/podstatus/<pod>          PodStatusReport      status
//	event              insert    <ns>/event/<name>             corev1.Event         request
//	get a configmap    query     <ns>/configmap/<name>         empty                request → corev1.ConfigMap
//	get a secret       query     <ns>/secret/<name>            empty                request → corev1.Secret
//	get a token        query     <ns>/serviceaccounttoken/<sa> TokenQuery           request → TokenAnswer
//	create mirror pod  insert    <ns>/mirrorpod/<pod>          corev1.Pod           request → corev1.Pod
//	delete mirror pod  delete    <ns>/mirrorpod/<pod>          MirrorPodDelete      request
//	remove a pod       delete    <ns>/pod/<pod>                PodDelete            request
//
// Mirror pods are how the API sees the node's static pods (pods from
// manifest files on the node, which the API never scheduled). A mirror pod
// carries the annotation MirrorPodAnnotation, is bound to the node and
// owned by its Node, and references no secrets, configmaps, volume claims
// or service accounts; any other pod is refused, as the NodeRestriction
// admission plugin refuses it to a kubelet. A node may delete only a mirror
// pod bound to it, and only the one with the UID it names. Created mirror
// pods come back down like every pod bound to the node.
//
// EdgeController authorizes each by the node's certificate identity (the
// node CloudHub names in the resource), never by the content.
package kubemsg

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Group is the cloud group upstream Kubernetes messages name in Route.Group;
// EdgeController is its module.
const Group = "edgecontroller"

// Resource types.
const (
	TypeNode       = "node"
	TypePod        = "pod"
	TypeConfigMap  = "configmap"
	TypeSecret     = "secret"
	TypeNodeStatus = "nodestatus"
	TypeLease      = "lease"
	TypePodStatus  = "podstatus"
	TypeEvent      = "event"
	TypeToken      = "serviceaccounttoken"
	TypeMirrorPod  = "mirrorpod"
)

// MirrorPodAnnotation marks a mirror pod; its value is the static pod's
// kubernetes.io/config.hash, so a stale mirror pod can be told apart.
const MirrorPodAnnotation = "kubernetes.io/config.mirror"

// MirrorPodDelete asks the cloud to delete a mirror pod: only the one with
// UID (a precondition of the delete), so a newer pod of the name is never
// deleted.
type MirrorPodDelete struct {
	UID types.UID `json:"uid"`
}

// PodDelete asks the cloud to remove a pod of the node that is being
// deleted and has stopped: the final delete (grace period 0, with UID as a
// precondition) that kubelets make, without which the pod stays
// Terminating. The cloud refuses it for a pod not being deleted.
type PodDelete struct {
	UID types.UID `json:"uid"`
}

// LeaseNamespace holds node Leases, as kubelets use it.
const LeaseNamespace = "kube-node-lease"

// LeaseRenewal asks the cloud to renew the node's Lease now.
type LeaseRenewal struct {
	// DurationSeconds is the Lease's leaseDurationSeconds.
	DurationSeconds int32 `json:"durationSeconds"`
}

// PodStatusReport is a pod's status as the edge observed it.
type PodStatusReport struct {
	// UID is the pod's metadata.uid: a report for an earlier pod of the
	// same name is refused.
	UID    types.UID        `json:"uid"`
	Status corev1.PodStatus `json:"status"`
}

// TokenQuery asks for a service-account token bound to a pod on the node.
type TokenQuery struct {
	Pod               string    `json:"pod"`
	PodUID            types.UID `json:"podUID"`
	Audiences         []string  `json:"audiences,omitempty"`
	ExpirationSeconds int64     `json:"expirationSeconds,omitempty"`
}

// TokenAnswer is the token the cloud issued.
type TokenAnswer struct {
	Token               string    `json:"token"`
	ExpirationTimestamp time.Time `json:"expirationTimestamp"`
}
