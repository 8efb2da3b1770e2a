package edged

import (
	"encoding/json"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edged/admit"
	"github.com/tether-edge/tether/edge/pkg/metamanager"
)

// handle applies one message from MetaManager to the desired set and
// kicks the workers of the pods it concerns. It never blocks on a worker:
// MetaManager waits for Edged to take each change.
func (e *Edged) handle(msg message.Message) {
	op, res := msg.Route.Operation, msg.Route.Resource
	if op == metamanager.OpLoaded {
		e.markLoaded()
		return
	}
	del := op == message.OpDelete
	if !del && op != message.OpInsert && op != message.OpUpdate {
		e.log.Debug("ignored a message", "from", msg.Route.Source, "op", op, "resource", res)
		return
	}
	k := keyOf(res.Namespace, res.Name)
	var kick []types.UID
	switch res.Type {
	case kubemsg.TypePod:
		if del {
			kick = append(kick, e.want.deletePod(k))
			e.mirror.kick()
			break
		}
		var p corev1.Pod
		if !e.decode(msg, &p) {
			return
		}
		uid, replaced := e.want.setPod(&p)
		if uid == "" { // a mirror pod
			e.mirror.kick()
			kick = append(kick, e.want.staticNamed(k))
			break
		}
		e.starts.seen(uid, e.opts.Now())
		e.admit(&p)
		kick = append(kick, uid, replaced)
	case kubemsg.TypeConfigMap:
		if del {
			kick = e.want.deleteConfigMap(k)
			break
		}
		var cm corev1.ConfigMap
		if !e.decode(msg, &cm) {
			return
		}
		kick = e.want.setConfigMap(&cm)
	case kubemsg.TypeSecret:
		if del {
			kick = e.want.deleteSecret(k)
			break
		}
		var s corev1.Secret
		if !e.decode(msg, &s) {
			return
		}
		kick = e.want.setSecret(&s)
	case kubemsg.TypeNode:
		if del {
			return
		}
		var n corev1.Node
		if e.decode(msg, &n) {
			e.want.setNode(&n)
			e.mirror.kick()
		}
		return
	default:
		return
	}
	for _, uid := range kick {
		if uid != "" {
			e.workers.ensure(uid)
		}
	}
}

// decode reads msg's object; a malformed one is logged and skipped (the
// store keeps it; the next version from the cloud replaces it).
func (e *Edged) decode(msg message.Message, v any) bool {
	if err := json.Unmarshal(msg.Content, v); err != nil {
		e.log.Error("object not decoded; skipped", "resource", msg.Route.Resource, "err", err)
		return false
	}
	return true
}

// staticChanged takes the static pod folder's current pods.
func (e *Edged) staticChanged(pods []*corev1.Pod) {
	now := e.opts.Now()
	for _, p := range pods {
		e.starts.seen(p.UID, now)
		e.admit(p)
	}
	for _, uid := range e.want.setStatic(pods) {
		e.workers.ensure(uid)
	}
	e.mirror.kick()
}

// admission remembers which pods were admitted and why others were not.
// A pod is admitted once, when first seen after MetaManager has handed
// over the stored pods (those are admitted oldest first, as the kubelet
// does after a restart); it stays admitted.
type admission struct {
	mu       sync.Mutex
	admitted map[types.UID]bool
	rejected map[types.UID]admit.Result
}

// admit decides on pod if it is new and the store is loaded.
func (e *Edged) admit(p *corev1.Pod) {
	if !e.isLoaded() {
		return
	}
	a := &e.workers.admission
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.admitted[p.UID] || a.rejected[p.UID].Reason != "" {
		return
	}
	var others []*corev1.Pod
	for uid := range a.admitted {
		if o := e.want.pod(uid); o != nil && !terminalPhase(e.status.phase(o)) {
			others = append(others, o)
		}
	}
	node := e.opts.Allocatable()
	if obj := e.want.nodeObject(); obj != nil {
		node.Labels = obj.Labels // the Node as the cluster has it
	}
	r := admit.Admit(p, others, node)
	if r.OK {
		a.admitted[p.UID] = true
		return
	}
	a.rejected[p.UID] = r
	e.log.Warn("pod rejected", "pod", p.Namespace+"/"+p.Name, "reason", r.Reason, "message", r.Message)
	e.event(p, corev1.EventTypeWarning, r.Reason, r.Message)
}

// admitAll admits every pod held, oldest first.
func (e *Edged) admitAll() {
	for _, p := range e.want.all() {
		e.admit(p)
	}
}

// verdict says whether pod may run: admitted (true), rejected (false, with
// the result), or not decided yet (false, zero result).
func (e *Edged) verdict(uid types.UID) (bool, admit.Result) {
	a := &e.workers.admission
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.admitted[uid], a.rejected[uid]
}

// forgetAdmission drops what was decided for a pod that is gone.
func (e *Edged) forgetAdmission(uid types.UID) {
	a := &e.workers.admission
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.admitted, uid)
	delete(a.rejected, uid)
}
