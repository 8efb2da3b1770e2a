package edged

import (
	"context"
	"encoding/json"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edged/staticpod"
)

// mirrorRetry is how soon a mirror pod request that failed (the cloud is
// away, say) is tried again.
const mirrorRetry = 5 * time.Second

// mirrorSync keeps a mirror pod in the API for each static pod, as
// kubelets do, so the cluster sees and reports on static pods.
type mirrorSync struct {
	e     *Edged
	kicks chan struct{}
}

func newMirrorSync(e *Edged) *mirrorSync {
	return &mirrorSync{e: e, kicks: make(chan struct{}, 1)}
}

// kick asks for a pass; kicks coalesce.
func (m *mirrorSync) kick() {
	select {
	case m.kicks <- struct{}{}:
	default:
	}
}

// run makes a pass on every kick, and again after a failure, until ctx
// ends. Passes wait until the stored pods are loaded and the Node is known
// (its UID owns mirror pods).
func (m *mirrorSync) run(ctx context.Context) {
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.kicks:
		case <-retry:
		}
		retry = nil
		if !m.e.isLoaded() {
			continue
		}
		if !m.pass(ctx) {
			retry = time.After(mirrorRetry)
		}
	}
}

// pass creates and deletes mirror pods as staticpod.MirrorActions says; it
// reports false when a request failed.
func (m *mirrorSync) pass(ctx context.Context) bool {
	node := m.e.want.nodeObject()
	static, mirrors := m.e.want.staticAndMirrors()
	if node == nil {
		return len(static) == 0 // wait for the Node (sent down on connect)
	}
	create, del := staticpod.MirrorActions(static, mirrors)
	ok := true
	for _, p := range del {
		body, _ := json.Marshal(kubemsg.MirrorPodDelete{UID: p.UID})
		ok = m.request(ctx, message.OpDelete, p, body) && ok
	}
	for _, p := range create {
		body, err := json.Marshal(staticpod.Mirror(p, m.e.opts.NodeName, node.UID))
		if err != nil {
			continue
		}
		ok = m.request(ctx, message.OpInsert, p, body) && ok
	}
	return ok
}

// request sends one mirror pod request to the cloud and waits for the
// answer.
func (m *mirrorSync) request(ctx context.Context, op message.Operation, p *corev1.Pod, body []byte) bool {
	res := message.Resource{Namespace: p.Namespace, Type: kubemsg.TypeMirrorPod, Name: p.Name}
	msg := message.New(Name, m.e.opts.Hub, op, res, body)
	msg.Route.Group = kubemsg.Group
	resp, err := m.e.opts.Bus.SendSync(ctx, msg, m.e.opts.RequestTimeout)
	if err == nil && resp.Route.Operation == message.OpError {
		err = errorText(resp.Content)
	}
	if err != nil {
		m.e.log.Info("mirror pod request not done yet", "op", op, "pod", podName(p), "err", err)
		return false
	}
	m.e.log.Info("mirror pod request done", "op", op, "pod", podName(p))
	return true
}
