package edgecontroller

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestRedirectKubelet(t *testing.T) {
	reported := corev1.NodeStatus{
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "192.168.1.5"},
			{Type: corev1.NodeExternalIP, Address: "192.168.1.5"},
			{Type: corev1.NodeInternalIP, Address: "10.0.0.9"},
			{Type: corev1.NodeHostName, Address: "gateway-7"},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10350}},
	}
	got := redirectKubelet(reported, KubeletEndpoint{Address: "10.96.0.100", Port: 10003})
	want := []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "10.96.0.100"},
		{Type: corev1.NodeExternalIP, Address: "192.168.1.5"},
		{Type: corev1.NodeExternalIP, Address: "10.0.0.9"},
	}
	if !reflect.DeepEqual(got.Addresses, want) {
		t.Errorf("addresses %+v, want %+v", got.Addresses, want)
	}
	if p := got.DaemonEndpoints.KubeletEndpoint.Port; p != 10003 {
		t.Errorf("kubelet port %d, want 10003", p)
	}
	if reported.Addresses[0].Address != "192.168.1.5" || len(reported.Addresses) != 4 {
		t.Errorf("the reported status was changed: %+v", reported.Addresses)
	}
	if same := redirectKubelet(reported, KubeletEndpoint{}); !reflect.DeepEqual(same, reported) {
		t.Errorf("a zero endpoint changed the status: %+v", same)
	}
}

// With a KubeletEndpoint, both the registered Node and a later status
// patch carry it, so kube-apiserver reaches CloudStream for the node.
func TestRegisterAndPatchUseKubeletEndpoint(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset()
	o := Options{Bus: newUpBus(), Client: cs, Logger: quietLogger(), Hub: "hub",
		KubeletEndpoint: KubeletEndpoint{Address: "10.96.0.100", Port: 10003}}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	u := newUpstream(o, o.Logger, upTestIndex())
	sent := &corev1.Node{Status: corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.5"}, {Type: corev1.NodeHostName, Address: "gw"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10350}},
	}}
	if _, err := u.register(ctx, "edge-a", sent); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		n, err := cs.CoreV1().Nodes().Get(ctx, "edge-a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Status.Addresses) == 0 || n.Status.Addresses[0] != (corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.96.0.100"}) {
			t.Errorf("%s: addresses %+v, want CloudStream's InternalIP first", when, n.Status.Addresses)
		}
		if p := n.Status.DaemonEndpoints.KubeletEndpoint.Port; p != 10003 {
			t.Errorf("%s: kubelet port %d, want 10003", when, p)
		}
	}
	check("registered")
	if sent.Status.DaemonEndpoints.KubeletEndpoint.Port != 10350 {
		t.Error("register changed the Node the edge sent")
	}
	reported := *sent.Status.DeepCopy()
	reported.Addresses[0].Address = "192.168.1.6"
	u.patchNodeStatus(ctx, "edge-a", reported)
	check("patched")
	n, _ := cs.CoreV1().Nodes().Get(ctx, "edge-a", metav1.GetOptions{})
	if len(n.Status.Addresses) != 2 || n.Status.Addresses[1].Address != "192.168.1.6" {
		t.Errorf("patched addresses %+v, want the edge's new IP as ExternalIP", n.Status.Addresses)
	}
}

func TestKubeletEndpointValidated(t *testing.T) {
	for _, ep := range []KubeletEndpoint{{Address: "cloud.example.com", Port: 10003}, {Address: "10.0.0.1"}} {
		o := Options{Bus: newUpBus(), Client: fake.NewClientset(), Logger: quietLogger(), Hub: "hub", KubeletEndpoint: ep}
		if err := o.validate(); err == nil {
			t.Errorf("KubeletEndpoint %+v accepted", ep)
		}
	}
}
