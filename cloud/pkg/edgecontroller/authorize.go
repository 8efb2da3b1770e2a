package edgecontroller

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/common/kubemsg"
)

// denial is authorization's refusal of an upstream message.
type denial struct {
	reason string
}

func (d *denial) Error() string { return "forbidden: " + d.reason }

func deny(format string, args ...any) error {
	return &denial{reason: fmt.Sprintf(format, args...)}
}

// grant is what authorization looked up to allow a message, so that
// applying it uses the same facts.
type grant struct {
	// pod is the index's pod a pod status, a token or an event is about;
	// nil for the rest. It belongs to the index: read, never write.
	pod *corev1.Pod
}

// authorize decides whether u.node may do what u asks. It trusts only the
// node identity and the index; the content's claims (names, UIDs, involved
// objects) are checked against them, never believed. A refusal is a
// *denial saying why.
func authorize(idx index, u upMsg) (grant, error) {
	n, res := u.node, u.res
	switch u.kind {
	case upRegister:
		if err := ownNode(n, u); err != nil {
			return grant{}, err
		}
		if u.nodeObj.Name != "" && u.nodeObj.Name != n {
			return grant{}, deny("node %s sent a Node named %q", n, u.nodeObj.Name)
		}
		return grant{}, nil
	case upNodeStatus:
		return grant{}, ownNode(n, u)
	case upLease:
		if res.Namespace != kubemsg.LeaseNamespace {
			return grant{}, deny("node leases live in %s, not %q", kubemsg.LeaseNamespace, res.Namespace)
		}
		if res.Name != n {
			return grant{}, deny("node %s may renew only its own lease, not %q", n, res.Name)
		}
		return grant{}, nil
	case upPodStatus:
		pod, err := podOf(idx, n, res.Namespace, res.Name, u.podStatus.UID)
		return grant{pod: pod}, err
	case upEvent:
		return authorizeEvent(idx, n, res.Namespace, res.Name, u.event)
	case upConfigMap, upSecret:
		ref := objectRef{Kind: res.Type, Namespace: res.Namespace, Name: res.Name}
		if !idx.uses(n, ref) {
			return grant{}, deny("no pod of node %s uses %s %s/%s", n, res.Type, res.Namespace, res.Name)
		}
		return grant{}, nil
	case upToken:
		return authorizeToken(idx, n, res.Namespace, res.Name, u.token)
	case upMirrorCreate:
		return grant{}, authorizeMirrorCreate(idx, n, res.Namespace, res.Name, u.mirrorPod)
	case upMirrorDelete:
		// Which pod a delete hits is the apiserver's fact, not the
		// index's (a mirror pod just created may not be in it yet):
		// deleteMirrorPod reads the pod and allows only a mirror pod
		// bound to n, as the NodeRestriction admission plugin does.
		return grant{}, nil
	case upPodDelete:
		// Likewise read when applied: deletePod allows it by
		// authorizePodDelete against the apiserver's copy, which alone
		// says whether the cluster is deleting the pod.
		return grant{}, nil
	}
	return grant{}, deny("%s is not a node's to ask", u.kind)
}

// ownNode allows a message about the cluster-scoped Node n itself.
func ownNode(n string, u upMsg) error {
	if u.res.Namespace != "" {
		return deny("a Node is cluster-scoped, not in namespace %q", u.res.Namespace)
	}
	if u.res.Name != n {
		return deny("node %s may write only its own Node, not %q", n, u.res.Name)
	}
	return nil
}

// podOf returns the pod ns/name if it is bound to node n and has uid.
func podOf(idx index, n, ns, name string, uid types.UID) (*corev1.Pod, error) {
	pod, ok := idx.podOnNode(n, ns, name)
	if !ok {
		return nil, deny("pod %s/%s is not bound to node %s", ns, name, n)
	}
	if uid == "" || uid != pod.UID {
		return nil, deny("pod %s/%s has uid %s, not %q", ns, name, pod.UID, uid)
	}
	return pod, nil
}

// authorizeEvent allows an event ns/name about node n itself or about a pod
// bound to n.
func authorizeEvent(idx index, n, ns, name string, ev *corev1.Event) (grant, error) {
	if ev.Namespace != ns || ev.Name != name {
		return grant{}, deny("event %s/%s sent as %s/%s", ev.Namespace, ev.Name, ns, name)
	}
	obj := ev.InvolvedObject
	switch obj.Kind {
	case "Node":
		if obj.Name != n {
			return grant{}, deny("node %s may report events about itself, not node %q", n, obj.Name)
		}
		return grant{}, nil
	case "Pod":
		if obj.Namespace != ns {
			return grant{}, deny("event in %q is about a pod in %q", ns, obj.Namespace)
		}
		pod, ok := idx.podOnNode(n, ns, obj.Name)
		if !ok {
			return grant{}, deny("pod %s/%s is not bound to node %s", ns, obj.Name, n)
		}
		if obj.UID != "" && obj.UID != pod.UID {
			return grant{}, deny("pod %s/%s has uid %s, not %s", ns, obj.Name, pod.UID, obj.UID)
		}
		return grant{pod: pod}, nil
	}
	return grant{}, deny("node %s may report events about its Node and pods, not a %q", n, obj.Kind)
}

// authorizeToken allows a token for service account sa of a pod bound to
// node n, as the pod runs it.
func authorizeToken(idx index, n, ns, sa string, q *kubemsg.TokenQuery) (grant, error) {
	pod, err := podOf(idx, n, ns, q.Pod, q.PodUID)
	if err != nil {
		return grant{}, err
	}
	if got := podServiceAccount(pod); got != sa {
		return grant{}, deny("pod %s/%s runs as service account %q, not %q", ns, q.Pod, got, sa)
	}
	return grant{pod: pod}, nil
}

// podServiceAccount is the service account pod runs as: "default" when
// the spec names none.
func podServiceAccount(pod *corev1.Pod) string {
	if pod.Spec.ServiceAccountName == "" {
		return "default"
	}
	return pod.Spec.ServiceAccountName
}
