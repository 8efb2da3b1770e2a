package edged

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edged/staticpod"
	"github.com/tether-edge/tether/edge/pkg/events"
)

// reporter keeps the status last computed for each pod and hands a status
// to MetaManager when it changes: level-triggered, the newest wins, and
// MetaManager keeps it across restarts and offline spells.
type reporter struct {
	e  *Edged
	mu sync.Mutex
	// last is the status last computed per pod; sent the one last handed
	// to the store, and the pod it was for (a static pod's mirror pod).
	last map[types.UID]corev1.PodStatus
	sent map[types.UID]sentStatus
}

type sentStatus struct {
	to     types.UID
	status corev1.PodStatus
}

func newReporter(e *Edged) *reporter {
	return &reporter{e: e, last: map[types.UID]corev1.PodStatus{}, sent: map[types.UID]sentStatus{}}
}

// withLast returns pod carrying the status last computed for it, which
// podsync.Status builds on; the pod's own status (the cloud's copy) until
// Edged computed one.
func (r *reporter) withLast(pod *corev1.Pod) *corev1.Pod {
	r.mu.Lock()
	st, ok := r.last[pod.UID]
	r.mu.Unlock()
	if !ok {
		return pod
	}
	p := *pod
	p.Status = st
	return &p
}

// phase is the pod's phase as last computed, else as the cloud has it.
func (r *reporter) phase(pod *corev1.Pod) corev1.PodPhase {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.last[pod.UID]; ok {
		return st.Phase
	}
	return pod.Status.Phase
}

// report records st for pod and sends it unless the same status already
// went to the same pod (the cloud's own copy counts as sent). A static
// pod's status goes to its mirror pod, once there is one, and again to a
// new mirror pod.
func (r *reporter) report(pod *corev1.Pod, st corev1.PodStatus) {
	to := pod.UID
	if staticpod.IsStatic(pod) {
		m := r.e.want.mirrorOf(pod)
		to = ""
		if m != nil {
			to = m.UID
		}
	}
	r.mu.Lock()
	prev, ok := r.last[pod.UID]
	if !ok {
		prev = pod.Status
	}
	r.last[pod.UID] = st
	sent, ok := r.sent[pod.UID]
	if !ok {
		sent = sentStatus{to: pod.UID, status: pod.Status}
	}
	r.mu.Unlock()
	r.e.starts.status(pod.UID, &prev, &st, r.e.opts.Now())
	if to == "" || (sent.to == to && equality.Semantic.DeepEqual(sent.status, st)) {
		return // a static pod's status waits for its mirror (whose arrival kicks the pod)
	}
	body, err := json.Marshal(kubemsg.PodStatusReport{UID: to, Status: st})
	if err != nil {
		r.e.log.Error("pod status not encoded", "pod", podName(pod), "err", err)
		return
	}
	msg := message.New(Name, r.e.opts.Store, message.OpUpdate,
		message.Resource{Namespace: pod.Namespace, Type: kubemsg.TypePodStatus, Name: pod.Name}, body)
	msg.Header.Timestamp = r.e.opts.Now().UnixMilli()
	msg.Route.Group = kubemsg.Group
	ctx, cancel := context.WithTimeout(context.Background(), r.e.opts.RequestTimeout)
	defer cancel()
	if err := r.e.opts.Bus.Send(ctx, msg); err != nil {
		r.e.log.Warn("pod status not handed to the store", "pod", podName(pod), "err", err)
		return
	}
	r.mu.Lock()
	r.sent[pod.UID] = sentStatus{to: to, status: st}
	r.mu.Unlock()
}

// forget drops a finished pod's status.
func (r *reporter) forget(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.last, uid)
	delete(r.sent, uid)
}

// finalDelete asks the cloud to remove a pod being deleted once nothing of
// it runs, as kubelets do: until then the pod stays Terminating in the
// API. A static pod is not the cloud's to delete. It reports false when
// the request failed (the worker tries again).
func (w *podWorker) finalDelete(ctx context.Context, pod *corev1.Pod, st corev1.PodStatus) bool {
	if w.finalDeleteSent || staticpod.IsStatic(pod) {
		return true
	}
	body, err := json.Marshal(kubemsg.PodDelete{UID: pod.UID})
	if err != nil {
		return true
	}
	msg := message.New(Name, w.e.opts.Hub, message.OpDelete,
		message.Resource{Namespace: pod.Namespace, Type: kubemsg.TypePod, Name: pod.Name}, body)
	msg.Route.Group = kubemsg.Group
	resp, err := w.e.opts.Bus.SendSync(ctx, msg, w.e.opts.RequestTimeout)
	if err == nil && resp.Route.Operation == message.OpError {
		err = errorText(resp.Content)
	}
	if err != nil {
		w.e.log.Info("pod not removed from the cloud yet", "pod", podName(pod), "err", err)
		return false
	}
	w.finalDeleteSent = true
	w.e.log.Info("pod stopped and removed", "pod", podName(pod), "phase", st.Phase)
	return true
}

// errorText is an OpError answer's text as an error.
type errorText []byte

func (e errorText) Error() string { return string(e) }

// event tells the events module about pod; it never waits long.
func (e *Edged) event(pod *corev1.Pod, typ, reason, text string) {
	if e.opts.Events == "" {
		return
	}
	ref := corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID}
	if staticpod.IsStatic(pod) {
		m := e.want.mirrorOf(pod)
		if m == nil {
			return
		}
		ref.UID = m.UID
	}
	now := e.opts.Now()
	ev := corev1.Event{
		InvolvedObject: ref, Type: typ, Reason: reason, Message: text,
		Source:         corev1.EventSource{Component: "edged", Host: e.opts.NodeName},
		FirstTimestamp: metav1.NewTime(now), LastTimestamp: metav1.NewTime(now), Count: 1,
	}
	msg, err := events.NewMessage(Name, e.opts.Events, ev)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := e.opts.Bus.Send(ctx, msg); err != nil {
		e.log.Debug("event not recorded", "reason", reason, "err", err)
	}
}

// eventByUID records an event about the desired pod with uid, if any.
func (e *Edged) eventByUID(uid types.UID, typ, reason, text string) {
	if p := e.want.pod(uid); p != nil {
		e.event(p, typ, reason, text)
	}
}
