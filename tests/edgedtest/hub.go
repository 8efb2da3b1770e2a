package edgedtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/metamanager"
)

// Hub stands in for edgehub and the cloud behind it: it keeps the pod
// statuses MetaManager hands it, and answers Edged's requests by applying
// their effect through MetaManager, as the cloud's sync would.
type Hub struct {
	bus  *beehive.Bus
	meta *metamanager.Manager
	rv   atomic.Int64

	mu       sync.Mutex
	statuses map[string]corev1.PodStatus
	uids     map[string]string
	pods     map[string]*corev1.Pod
	// gone are the pods removed at Edged's request, by namespace/name/uid.
	gone map[string]bool
	// Requests counts the requests answered, by kind ("pod delete",
	// "mirror create", "mirror delete", "token").
	requests map[string]int
	// changed is closed, and replaced, whenever a status arrives: WaitFor
	// waits on it.
	changed chan struct{}
}

func newHub(bus *beehive.Bus, meta *metamanager.Manager) *Hub {
	return &Hub{
		bus: bus, meta: meta, statuses: map[string]corev1.PodStatus{}, uids: map[string]string{},
		pods: map[string]*corev1.Pod{}, requests: map[string]int{}, gone: map[string]bool{},
		changed: make(chan struct{}),
	}
}

// Name implements beehive.Module.
func (h *Hub) Name() string { return hubName }

// Group implements beehive.Module.
func (h *Hub) Group() string { return "hub" }

// Start serves until ctx ends.
func (h *Hub) Start(ctx context.Context) error {
	for {
		msg, err := h.bus.Receive(ctx, hubName)
		if err != nil {
			return nil
		}
		h.handle(ctx, msg)
	}
}

func (h *Hub) handle(ctx context.Context, msg message.Message) {
	res := msg.Route.Resource
	switch {
	case res.Type == kubemsg.TypePodStatus:
		var r kubemsg.PodStatusReport
		if json.Unmarshal(msg.Content, &r) == nil {
			h.mu.Lock()
			h.statuses[res.Namespace+"/"+res.Name] = r.Status
			h.uids[res.Namespace+"/"+res.Name] = string(r.UID)
			close(h.changed)
			h.changed = make(chan struct{})
			h.mu.Unlock()
		}
	case !msg.Header.Sync:
	case res.Type == kubemsg.TypePod && msg.Route.Operation == message.OpDelete:
		h.count("pod delete")
		var d kubemsg.PodDelete
		err := json.Unmarshal(msg.Content, &d)
		if err == nil {
			err = h.remove(kubemsg.TypePod, res.Namespace, res.Name)
		}
		if err == nil {
			h.mu.Lock()
			h.gone[res.Namespace+"/"+res.Name+"/"+string(d.UID)] = true
			h.mu.Unlock()
		}
		h.answer(ctx, msg, err)
	case res.Type == kubemsg.TypeMirrorPod && msg.Route.Operation == message.OpInsert:
		h.count("mirror create")
		var p corev1.Pod
		err := json.Unmarshal(msg.Content, &p)
		if err == nil {
			p.UID = uuid.NewUUID()
			err = h.apply(&p)
		}
		h.answer(ctx, msg, err)
	case res.Type == kubemsg.TypeMirrorPod && msg.Route.Operation == message.OpDelete:
		h.count("mirror delete")
		h.answer(ctx, msg, h.remove(kubemsg.TypePod, res.Namespace, res.Name))
	default:
		h.count(string(msg.Route.Operation) + " " + res.Type)
		h.answer(ctx, msg, fmt.Errorf("the test hub does not serve %s %s", msg.Route.Operation, res))
	}
}

func (h *Hub) count(kind string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests[kind]++
}

// Requests returns how many requests of kind were answered.
func (h *Hub) Requests(kind string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests[kind]
}

// StatusUID returns the UID the pod's newest status was reported for.
func (h *Hub) StatusUID(namespace, name string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.uids[namespace+"/"+name]
}

func (h *Hub) answer(ctx context.Context, msg message.Message, err error) {
	op, body := message.OpResponse, []byte("{}")
	if err != nil {
		op, body = message.OpError, []byte(err.Error())
	}
	h.bus.SendResponse(ctx, msg.Response(hubName, op, body)) //nolint:errcheck // the requester timed out
}

func (h *Hub) apply(obj any) error {
	if p, ok := obj.(*corev1.Pod); ok && p.UID == "" {
		p.UID = uuid.NewUUID()
	}
	res, err := resourceOf(obj)
	if err != nil {
		return err
	}
	body, err := encode(obj)
	if err != nil {
		return err
	}
	op := message.OpUpdate
	if p, ok := obj.(*corev1.Pod); ok {
		h.mu.Lock()
		if h.pods[res.Namespace+"/"+res.Name] == nil {
			op = message.OpInsert
		}
		h.pods[res.Namespace+"/"+res.Name] = p.DeepCopy()
		h.mu.Unlock()
	}
	msg := message.New(hubName, metamanager.Name, op, res, body)
	msg.Header.ResourceVersion = strconv.FormatInt(h.rv.Add(1), 10)
	return h.meta.Apply(context.Background(), msg)
}

func (h *Hub) remove(typ, namespace, name string) error {
	if typ == kubemsg.TypePod {
		h.mu.Lock()
		delete(h.pods, namespace+"/"+name)
		h.mu.Unlock()
	}
	msg := message.New(hubName, metamanager.Name, message.OpDelete, message.Resource{Namespace: namespace, Type: typ, Name: name}, nil)
	return h.meta.Apply(context.Background(), msg)
}

func (h *Hub) podNamed(namespace, name string) *corev1.Pod {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pods[namespace+"/"+name]
}

func (h *Hub) status(namespace, name string) (corev1.PodStatus, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.statuses[namespace+"/"+name]
	return st, ok
}

// WaitFor waits until the pod's newest status satisfies ok and returns
// that status. It wakes on every status the hub receives, so it returns
// within microseconds of the status arriving: latency measurements use it.
func (h *Hub) WaitFor(ctx context.Context, namespace, name string, ok func(corev1.PodStatus) bool) (corev1.PodStatus, error) {
	for {
		h.mu.Lock()
		st, have := h.statuses[namespace+"/"+name]
		changed := h.changed
		h.mu.Unlock()
		if have && ok(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("pod %s/%s: status %s: %w", namespace, name, Describe(st), ctx.Err())
		case <-changed:
		}
	}
}

// PodGone reports whether Edged asked for pod's removal and the hub
// removed it.
func (h *Hub) PodGone(p *corev1.Pod) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gone[p.Namespace+"/"+p.Name+"/"+string(p.UID)]
}

// Mirror returns the mirror pod the hub created for Edged, if any.
func (h *Hub) Mirror(namespace, name string) *corev1.Pod {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.pods[namespace+"/"+name]; p != nil && p.Annotations[kubemsg.MirrorPodAnnotation] != "" {
		return p
	}
	return nil
}
