package edgecontroller

import (
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
)

// Errors of messages that never reach authorization.
var (
	// errNoNode: the resource does not name the node that sent it.
	errNoNode = errors.New("the resource names no node")
	// errUnsupported: no row of kubemsg's table matches.
	errUnsupported = errors.New("unsupported")
	// errBadContent: the content does not decode into the row's payload.
	errBadContent = errors.New("bad content")
)

// upKind is the row of kubemsg's upstream table a message matches.
type upKind int

const (
	upUnsupported  upKind = iota
	upRegister            // insert null/node/<node>, request
	upNodeStatus          // update null/nodestatus/<node>, status
	upLease               // update kube-node-lease/lease/<node>, status
	upPodStatus           // update <ns>/podstatus/<pod>, status
	upEvent               // insert <ns>/event/<name>, request
	upConfigMap           // query <ns>/configmap/<name>, request
	upSecret              // query <ns>/secret/<name>, request
	upToken               // query <ns>/serviceaccounttoken/<sa>, request
	upMirrorCreate        // insert <ns>/mirrorpod/<pod>, request
	upMirrorDelete        // delete <ns>/mirrorpod/<pod>, request
	upPodDelete           // delete <ns>/pod/<pod>, request
)

// upKinds is kubemsg's upstream table, one row per kind: the operation
// and resource type that select it, its name, and whether its messages
// are requests, answered with OpResponse or OpError, rather than one-way
// statuses.
var upKinds = [...]struct {
	op      message.Operation
	typ     string
	name    string
	request bool
}{
	upUnsupported:  {name: "unsupported"},
	upRegister:     {message.OpInsert, kubemsg.TypeNode, "register", true},
	upNodeStatus:   {message.OpUpdate, kubemsg.TypeNodeStatus, "node status", false},
	upLease:        {message.OpUpdate, kubemsg.TypeLease, "lease", false},
	upPodStatus:    {message.OpUpdate, kubemsg.TypePodStatus, "pod status", false},
	upEvent:        {message.OpInsert, kubemsg.TypeEvent, "event", true},
	upConfigMap:    {message.OpQuery, kubemsg.TypeConfigMap, "configmap query", true},
	upSecret:       {message.OpQuery, kubemsg.TypeSecret, "secret query", true},
	upToken:        {message.OpQuery, kubemsg.TypeToken, "token query", true},
	upMirrorCreate: {message.OpInsert, kubemsg.TypeMirrorPod, "mirror pod create", true},
	upMirrorDelete: {message.OpDelete, kubemsg.TypeMirrorPod, "mirror pod delete", true},
	upPodDelete:    {message.OpDelete, kubemsg.TypePod, "pod delete", true},
}

func (k upKind) String() string {
	if k < 0 || int(k) >= len(upKinds) {
		return fmt.Sprintf("upKind(%d)", int(k))
	}
	return upKinds[k].name
}

// request reports whether messages of kind k are requests rather than
// one-way statuses.
func (k upKind) request() bool { return upKinds[k].request }

// kindOf finds the row of kubemsg's table for op on a resource of typ.
func kindOf(op message.Operation, typ string) upKind {
	for k := upUnsupported + 1; int(k) < len(upKinds); k++ {
		if upKinds[k].op == op && upKinds[k].typ == typ {
			return k
		}
	}
	return upUnsupported
}

// upMsg is an upstream message decoded once, at the module's boundary.
type upMsg struct {
	kind upKind
	// node is Route.Resource.Node: the identity CloudHub authenticated.
	node string
	// res is the resource in its edge form.
	res message.Resource

	// The payload: the one field kind names is set (none for upConfigMap
	// and upSecret, whose content is empty).
	nodeObj    *corev1.Node             // upRegister
	nodeStatus *corev1.NodeStatus       // upNodeStatus
	lease      *kubemsg.LeaseRenewal    // upLease
	podStatus  *kubemsg.PodStatusReport // upPodStatus
	event      *corev1.Event            // upEvent
	token      *kubemsg.TokenQuery      // upToken
	mirrorPod  *corev1.Pod              // upMirrorCreate
	mirrorDel  *kubemsg.MirrorPodDelete // upMirrorDelete
	podDel     *kubemsg.PodDelete       // upPodDelete
}

// decode classifies m by kubemsg's table and decodes its content. Errors
// wrap errNoNode, errUnsupported or errBadContent. It checks shape only:
// whether the node may do this is authorize's question.
func decode(m message.Message) (upMsg, error) {
	res := m.Route.Resource
	u := upMsg{node: res.Node, res: res.WithoutNode(), kind: kindOf(m.Route.Operation, res.Type)}
	if u.node == "" {
		return u, errNoNode
	}
	if u.kind == upUnsupported {
		return u, fmt.Errorf("%w: %s %s", errUnsupported, m.Route.Operation, u.res)
	}
	if u.kind.request() != m.Header.Sync {
		want := "a one-way status"
		if u.kind.request() {
			want = "a request (sync)"
		}
		return u, fmt.Errorf("%w: %s %s must be sent as %s", errUnsupported, m.Route.Operation, u.res, want)
	}
	if u.res.Name == "" {
		return u, fmt.Errorf("%w: %s %s names no object", errUnsupported, m.Route.Operation, u.res)
	}
	if err := u.decodeContent(m.Content); err != nil {
		return u, fmt.Errorf("%w for %s %s: %w", errBadContent, m.Route.Operation, u.res, err)
	}
	return u, nil
}

// decodeContent fills the payload field of u.kind from content.
func (u *upMsg) decodeContent(content []byte) error {
	switch u.kind {
	case upRegister:
		u.nodeObj = &corev1.Node{}
		return json.Unmarshal(content, u.nodeObj)
	case upNodeStatus:
		u.nodeStatus = &corev1.NodeStatus{}
		return json.Unmarshal(content, u.nodeStatus)
	case upLease:
		u.lease = &kubemsg.LeaseRenewal{}
		if err := json.Unmarshal(content, u.lease); err != nil {
			return err
		}
		if u.lease.DurationSeconds <= 0 {
			return fmt.Errorf("durationSeconds %d is not positive", u.lease.DurationSeconds)
		}
	case upPodStatus:
		u.podStatus = &kubemsg.PodStatusReport{}
		return json.Unmarshal(content, u.podStatus)
	case upEvent:
		u.event = &corev1.Event{}
		if err := json.Unmarshal(content, u.event); err != nil {
			return err
		}
		// An event that leaves its name or namespace out is the resource's.
		if u.event.Namespace == "" {
			u.event.Namespace = u.res.Namespace
		}
		if u.event.Name == "" {
			u.event.Name = u.res.Name
		}
	case upToken:
		u.token = &kubemsg.TokenQuery{}
		return json.Unmarshal(content, u.token)
	case upMirrorCreate:
		u.mirrorPod = &corev1.Pod{}
		if err := json.Unmarshal(content, u.mirrorPod); err != nil {
			return err
		}
		// A pod that leaves its namespace out is the resource's.
		if u.mirrorPod.Namespace == "" {
			u.mirrorPod.Namespace = u.res.Namespace
		}
	case upMirrorDelete:
		u.mirrorDel = &kubemsg.MirrorPodDelete{}
		if err := json.Unmarshal(content, u.mirrorDel); err != nil {
			return err
		}
		if u.mirrorDel.UID == "" {
			return errors.New("no uid: a mirror pod is deleted only by its uid")
		}
	case upPodDelete:
		u.podDel = &kubemsg.PodDelete{}
		if err := json.Unmarshal(content, u.podDel); err != nil {
			return err
		}
		if u.podDel.UID == "" {
			return errors.New("no uid: a pod is removed only by its uid")
		}
	}
	return nil
}
