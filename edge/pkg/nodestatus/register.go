package nodestatus

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/tunnel"
)

// Registration limits.
const (
	// requestTimeout bounds one registration request.
	requestTimeout = 30 * time.Second
	// retryInitial and retryMax bound the back-off between attempts.
	retryInitial = time.Second
	retryMax     = 30 * time.Second
)

// nodeUID is the uid events name the Node by, as kubelets do: its name.
func nodeUID(node string) types.UID { return types.UID(node) }

// register registers the Node, retrying with back-off until it succeeds or
// ctx ends (the cloud went away), then has a status reported at once.
func (m *Module) register(ctx context.Context) {
	b := tunnel.Backoff{Initial: retryInitial, Max: retryMax, Jitter: m.opts.Jitter}
	for {
		err := m.registerOnce(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		m.log.Warn("node not registered yet", "err", err)
		if !b.Wait(ctx) {
			return
		}
	}
	m.log.Info("node registered", "node", m.opts.NodeName)
	select {
	case m.poke <- struct{}{}:
	default:
	}
	if !m.registered.Swap(true) {
		m.event(corev1.EventTypeNormal, "NodeReady", fmt.Sprintf("Node %s status is now: NodeReady", m.opts.NodeName))
		m.event(corev1.EventTypeNormal, "RegisteredNode", fmt.Sprintf("Node %s registered with the cloud", m.opts.NodeName))
	}
}

// registerOnce asks the cloud to create (or take) the Node.
func (m *Module) registerOnce(ctx context.Context) error {
	obs, err := m.observe()
	if err != nil {
		return err
	}
	n := node(obs, m.opts.Config, m.identity(ctx), m.opts.Now())
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode node: %w", err)
	}
	req := message.New(Name, m.opts.Hub, message.OpInsert, message.Resource{Type: kubemsg.TypeNode, Name: m.opts.NodeName}, body)
	req.Route.Group = kubemsg.Group
	resp, err := m.opts.Bus.SendSync(ctx, req, requestTimeout)
	if err != nil {
		return fmt.Errorf("register node: %w", err)
	}
	switch resp.Route.Operation {
	case message.OpResponse:
		return nil
	case message.OpError:
		return fmt.Errorf("register node: the cloud answered: %s", resp.Content)
	default:
		return fmt.Errorf("register node: unexpected answer %q", resp.Route.Operation)
	}
}
