package edgecontroller

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
)

func TestDeletePod(t *testing.T) {
	podsGR := schema.GroupResource{Resource: "pods"}
	tests := []struct {
		name      string
		pod       *corev1.Pod // in the cluster; nil for none
		uid       types.UID   // the edge's
		deleteErr error       // the apiserver's answer to the delete
		getErr    error       // the apiserver's answer to the get
		denied    string      // part of the denial
		fails     string      // part of another error
		deletes   bool        // a delete is sent
	}{
		{name: "own pod being deleted", pod: deletingPod("edge-a", true, false), uid: "uid-web", deletes: true},
		{name: "own mirror pod", pod: deletingPod("edge-a", false, true), uid: "uid-web", deletes: true},
		{name: "gone", uid: "uid-web"},
		{name: "replaced by another uid", pod: deletingPod("edge-a", true, false), uid: "uid-old"},
		{name: "not being deleted", pod: deletingPod("edge-a", false, false), uid: "uid-web", denied: "not being deleted"},
		{name: "another node's pod", pod: deletingPod("edge-b", true, false), uid: "uid-web", denied: `bound to node "edge-b"`},
		{name: "another node's mirror pod", pod: deletingPod("edge-b", false, true), uid: "uid-web", denied: `bound to node "edge-b"`},
		{name: "uid precondition fails", pod: deletingPod("edge-a", true, false), uid: "uid-web", deletes: true,
			deleteErr: apierrors.NewConflict(podsGR, "web", errors.New("precondition failed: uid"))},
		{name: "gone meanwhile", pod: deletingPod("edge-a", true, false), uid: "uid-web", deletes: true,
			deleteErr: apierrors.NewNotFound(podsGR, "web")},
		{name: "delete fails", pod: deletingPod("edge-a", true, false), uid: "uid-web", deletes: true,
			deleteErr: apierrors.NewInternalError(errors.New("etcd down")), fails: "delete pod default/web"},
		{name: "get fails", pod: deletingPod("edge-a", true, false), uid: "uid-web",
			getErr: apierrors.NewInternalError(errors.New("etcd down")), fails: "get pod default/web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			var pods []*corev1.Pod
			if tt.pod != nil {
				pods = append(pods, tt.pod)
			}
			u, cs := newMirrorUpstream(t, pods...)
			for verb, err := range map[string]error{"delete": tt.deleteErr, "get": tt.getErr} {
				if err != nil {
					cs.PrependReactor(verb, "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, err })
				}
			}
			_, err := u.deletePod(ctx, "edge-a", upRes("default", kubemsg.TypePod, "web"), tt.uid)
			var d *denial
			switch {
			case tt.denied != "":
				if !errors.As(err, &d) || !strings.Contains(d.reason, tt.denied) {
					t.Fatalf("deletePod = %v, want a denial saying %q", err, tt.denied)
				}
			case tt.fails != "":
				if err == nil || errors.As(err, &d) || !strings.Contains(err.Error(), tt.fails) {
					t.Fatalf("deletePod = %v, want an error saying %q", err, tt.fails)
				}
			case err != nil:
				t.Fatalf("deletePod = %v, want ok", err)
			}
			checkPodDeletes(t, cs.Actions(), tt.deletes, tt.uid)
			_, gerr := cs.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), "default", "web")
			wantGone := tt.pod == nil || (tt.deletes && tt.deleteErr == nil)
			if gone := apierrors.IsNotFound(gerr); gone != wantGone {
				t.Errorf("pod gone %v (%v), want %v", gone, gerr, wantGone)
			}
		})
	}
}

// checkPodDeletes fails t unless actions hold one delete (grace 0, uid
// precondition) if want, none otherwise.
func checkPodDeletes(t *testing.T, actions []k8stesting.Action, want bool, uid types.UID) {
	t.Helper()
	n := 0
	for _, a := range actions {
		del, ok := a.(k8stesting.DeleteAction)
		if !ok {
			continue
		}
		n++
		o := del.GetDeleteOptions()
		if del.GetNamespace() != "default" || del.GetName() != "web" || o.Preconditions == nil || o.Preconditions.UID == nil ||
			*o.Preconditions.UID != uid || o.GracePeriodSeconds == nil || *o.GracePeriodSeconds != 0 {
			t.Errorf("delete %s/%s options %+v, want uid %s and grace 0", del.GetNamespace(), del.GetName(), o, uid)
		}
	}
	if want && n != 1 || !want && n != 0 {
		t.Errorf("%d deletes, want delete %v", n, want)
	}
}

// TestHandlePodDelete: through handle, a denied pod delete is counted,
// answered forbidden and deletes nothing; an allowed one is answered ok.
func TestHandlePodDelete(t *testing.T) {
	ctx := context.Background()
	running := upPod("default", "api", "edge-a", "uid-api", "")
	u, cs := newMirrorUpstream(t, deletingPod("edge-a", true, false), running)
	bus := u.opts.Bus.(*upBus)
	send := func(name string, uid types.UID) message.Message {
		m := upMessage(message.OpDelete, message.Resource{Node: "edge-a", Namespace: "default", Type: kubemsg.TypePod, Name: name},
			true, `{"uid":"`+string(uid)+`"}`)
		u.handle(ctx, m)
		return bus.response(t, m)
	}
	if r := send("api", "uid-api"); r.Route.Operation != message.OpError || !strings.HasPrefix(string(r.Content), "forbidden: ") {
		t.Errorf("delete of a running pod answered %s %q, want forbidden", r.Route.Operation, r.Content)
	}
	if got := u.denials.Load(); got != 1 {
		t.Errorf("denials = %d, want 1", got)
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "api", metav1.GetOptions{}); err != nil {
		t.Errorf("running pod after a denied delete: %v", err)
	}
	if r := send("web", "uid-web"); r.Route.Operation != message.OpResponse {
		t.Errorf("delete of a pod being deleted answered %s %q", r.Route.Operation, r.Content)
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod after its final delete: %v, want not found", err)
	}
}
