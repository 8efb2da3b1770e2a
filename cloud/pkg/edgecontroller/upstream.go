package edgecontroller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-edge/tether/common/background"
	"github.com/tether-edge/tether/common/message"
)

const (
	// workerQueueSize bounds each worker's queue; when it is full the
	// receive loop waits, and the bus queue holds the rest.
	workerQueueSize = 64
	// applyTimeout bounds the apiserver calls of one message.
	applyTimeout = 30 * time.Second
)

// objectCache is what the downstream half may offer besides index: the
// configmaps and secrets of a node's desired set, as cached.
type objectCache interface {
	// object returns the cached object ref names, in the edge's form
	// (setEdgeForm); it belongs to the cache: never change it.
	object(ref objectRef) (runtime.Object, bool)
}

// The downstream half caches the objects queries ask for.
var _ objectCache = (*downstream)(nil)

// upstream applies what edge nodes send up (kubemsg's table) to the
// apiserver, after authorize allowed it.
//
// run receives from the bus and hands each message to one of Workers
// goroutines chosen by its node, so one node's messages are applied in
// the order they arrived while nodes proceed in parallel. When a worker's
// queue is full the receive loop waits for it (and the bus queue fills
// behind it); a slow apiserver call is bounded by applyTimeout.
//
// Every request is answered: OpResponse with the result, or OpError with
// "forbidden: <reason>" (a denial, logged at Warn and counted in
// denials), "unsupported: ..." (no row of kubemsg's table), "bad content
// ..." or the apiserver's error. Statuses are never answered; their
// failures are logged.
type upstream struct {
	opts    Options
	log     *slog.Logger
	idx     index
	objects objectCache // nil when idx caches no objects: GET them
	// denials counts messages authorization refused.
	denials atomic.Uint64

	// leaseMu guards leases.
	leaseMu sync.Mutex
	// leases is the last Lease written per node, so that a renewal is one
	// Update; a conflict drops it and the next renewal reads it again.
	leases map[string]*coordinationv1.Lease
}

func newUpstream(o Options, log *slog.Logger, idx index) *upstream {
	u := &upstream{opts: o, log: log, idx: idx, leases: map[string]*coordinationv1.Lease{}}
	if c, ok := idx.(objectCache); ok {
		u.objects = c
	}
	return u
}

// run applies upstream messages until ctx ends, one node's always on the
// same worker, in arrival order; a message naming no node is refused. It
// fails only when the bus does.
func (u *upstream) run(ctx context.Context) error {
	next := func(ctx context.Context) (message.Message, string, error) {
		for {
			m, err := u.opts.Bus.Receive(ctx, Name)
			if err != nil {
				return m, "", fmt.Errorf("edgecontroller: receive: %w", err)
			}
			if node := m.Route.Resource.Node; node != "" {
				return m, node, nil
			}
			u.refuse(ctx, m, errNoNode)
		}
	}
	return background.Sharded(ctx, u.opts.Workers, workerQueueSize, next, u.handle)
}

// handle decodes, authorizes and applies one message, and answers it if
// it is a request.
func (u *upstream) handle(ctx context.Context, m message.Message) {
	if m.IsResponse() {
		u.log.Debug("dropped a response nobody waits for", "from", m.Route.Source, "parent", m.Header.ParentID)
		return
	}
	um, err := decode(m)
	if err != nil {
		u.refuse(ctx, m, err)
		return
	}
	g, err := authorize(u.idx, um)
	if err == nil {
		actx, cancel := context.WithTimeout(ctx, applyTimeout)
		var content []byte
		content, err = u.apply(actx, um, g)
		cancel()
		if err == nil {
			u.respond(ctx, m, message.OpResponse, content)
			return
		}
	}
	var d *denial
	if errors.As(err, &d) {
		u.denials.Add(1)
		u.log.Warn("denied an upstream message", "node", um.node, "op", m.Route.Operation,
			"resource", um.res, "reason", d.reason)
	} else if ctx.Err() == nil {
		u.log.Info("upstream request failed", "node", um.node, "kind", um.kind, "resource", um.res, "err", err)
	}
	u.respond(ctx, m, message.OpError, []byte(err.Error()))
}

// refuse logs a message that did not decode and answers it if it is a
// request.
func (u *upstream) refuse(ctx context.Context, m message.Message, err error) {
	u.log.Warn("dropped an upstream message", "op", m.Route.Operation, "resource", m.Route.Resource,
		"sync", m.Header.Sync, "err", err)
	u.respond(ctx, m, message.OpError, []byte(err.Error()))
}

// respond answers m if it is a request; statuses get nothing.
func (u *upstream) respond(ctx context.Context, m message.Message, op message.Operation, content []byte) {
	if !m.Header.Sync {
		return
	}
	if err := u.opts.Bus.SendResponse(ctx, m.Response(Name, op, content)); err != nil {
		u.log.Debug("response not delivered", "to", m.Route.Source, "resource", m.Route.Resource, "err", err)
	}
}

// apply carries out an authorized message. It returns a request's answer;
// statuses log their own failures and return nothing.
func (u *upstream) apply(ctx context.Context, um upMsg, g grant) ([]byte, error) {
	switch um.kind {
	case upRegister:
		return u.register(ctx, um.node, um.nodeObj)
	case upNodeStatus:
		u.patchNodeStatus(ctx, um.node, *um.nodeStatus)
	case upLease:
		u.renewLease(ctx, um.node, *um.lease)
	case upPodStatus:
		u.patchPodStatus(ctx, g.pod, *um.podStatus)
	case upEvent:
		return u.recordEvent(ctx, um.node, um.event)
	case upConfigMap, upSecret:
		return u.getObject(ctx, objectRef{Kind: um.res.Type, Namespace: um.res.Namespace, Name: um.res.Name})
	case upToken:
		return u.issueToken(ctx, g.pod, um.res.Name, *um.token)
	case upMirrorCreate:
		return u.createMirrorPod(ctx, um.node, um.mirrorPod)
	case upMirrorDelete:
		return u.deleteMirrorPod(ctx, um.node, um.res, um.mirrorDel.UID)
	case upPodDelete:
		return u.deletePod(ctx, um.node, um.res, um.podDel.UID)
	}
	return nil, nil
}
