package devicecontroller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
	"github.com/tether-edge/tether/common/background"
	"github.com/tether-edge/tether/common/devicemsg"
	"github.com/tether-edge/tether/common/message"
)

const (
	// workerQueueSize bounds each worker's queue; when it is full the
	// receive loop waits, and the bus queue holds the rest.
	workerQueueSize = 64
	// applyTimeout bounds the apiserver calls of one message.
	applyTimeout = 30 * time.Second
)

// index answers what authorization asks, from the informer cache. It is
// safe for concurrent use.
type index interface {
	// device returns the cached Device k; never change it.
	device(k key) (*v1beta1.Device, bool)
}

// statusReport is a decoded device status message.
type statusReport struct {
	node   string
	device key
	report devicemsg.DeviceStatusReport
}

// upstream applies the device status the edge sends up, after authorize
// allowed it. run hands each message to one of Workers goroutines chosen
// by its device, so one device's reports apply in arrival order.
type upstream struct {
	opts Options
	log  *slog.Logger
	idx  index
	// denials counts messages authorization refused.
	denials atomic.Uint64
}

func newUpstream(o Options, log *slog.Logger, idx index) *upstream {
	return &upstream{opts: o, log: log, idx: idx}
}

// run applies upstream messages until ctx ends, one device's always on
// the same worker, in arrival order. It fails only when the bus does.
func (u *upstream) run(ctx context.Context) error {
	next := func(ctx context.Context) (message.Message, string, error) {
		m, err := u.opts.Bus.Receive(ctx, Name)
		if err != nil {
			return m, "", fmt.Errorf("devicecontroller: receive: %w", err)
		}
		r := m.Route.Resource
		return m, r.Namespace + "/" + r.Name, nil
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
	sr, err := decode(m)
	if err != nil {
		u.log.Warn("dropped an upstream message", "op", m.Route.Operation, "resource", m.Route.Resource, "err", err)
		u.respond(ctx, m, message.OpError, []byte(err.Error()))
		return
	}
	if err := authorize(u.idx, sr); err != nil {
		u.denials.Add(1)
		u.log.Warn("denied an upstream message", "node", sr.node, "op", m.Route.Operation,
			"resource", m.Route.Resource, "reason", err)
		u.respond(ctx, m, message.OpError, []byte(err.Error()))
		return
	}
	actx, cancel := context.WithTimeout(ctx, applyTimeout)
	err = u.writeStatus(actx, sr)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			u.log.Info("device status not written", "node", sr.node, "device", sr.device, "err", err)
		}
		u.respond(ctx, m, message.OpError, []byte(err.Error()))
		return
	}
	u.respond(ctx, m, message.OpResponse, nil)
}

// errUnsupported is the answer to any upstream message but a device status.
var errUnsupported = errors.New("unsupported")

// decode checks that m is a device status (devicemsg's table) and decodes
// its content.
func decode(m message.Message) (statusReport, error) {
	r := m.Route.Resource
	if m.Route.Operation != message.OpUpdate || r.Type != devicemsg.TypeDeviceStatus {
		return statusReport{}, fmt.Errorf("%w: %s %s", errUnsupported, m.Route.Operation, r.Type)
	}
	if r.Node == "" || r.Namespace == "" || r.Name == "" {
		return statusReport{}, fmt.Errorf("%w: resource %q lacks a node, namespace or name", errUnsupported, r)
	}
	sr := statusReport{node: r.Node, device: key{r.Namespace, r.Name}}
	if err := json.Unmarshal(m.Content, &sr.report); err != nil {
		return statusReport{}, fmt.Errorf("bad content: %w", err)
	}
	return sr, nil
}

// errForbidden wraps every denial.
var errForbidden = errors.New("forbidden")

// authorize allows a report only for a cached Device bound to the
// reporting node with the UID the report names.
func authorize(idx index, sr statusReport) error {
	d, ok := idx.device(sr.device)
	switch {
	case !ok:
		return fmt.Errorf("%w: no device %s/%s", errForbidden, sr.device.Namespace, sr.device.Name)
	case d.Spec.NodeName == "" || d.Spec.NodeName != sr.node:
		return fmt.Errorf("%w: device %s/%s is not bound to node %s", errForbidden, sr.device.Namespace, sr.device.Name, sr.node)
	case d.UID != sr.report.UID:
		return fmt.Errorf("%w: device %s/%s has another uid", errForbidden, sr.device.Namespace, sr.device.Name)
	}
	return nil
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
