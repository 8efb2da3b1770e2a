package edgecontroller

import (
	"errors"
	"strings"
	"testing"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
)

func upMessage(op message.Operation, r message.Resource, sync bool, content string) message.Message {
	m := message.NewToGroup("cloudhub", kubemsg.Group, op, r, []byte(content))
	m.Header.Sync = sync
	return m
}

func TestDecode(t *testing.T) {
	onA := func(ns, typ, name string) message.Resource {
		return message.Resource{Node: "edge-a", Namespace: ns, Type: typ, Name: name}
	}
	tests := []struct {
		name string
		m    message.Message
		kind upKind
		err  error  // wrapped; nil for success
		says string // part of the error text
	}{
		{"register", upMessage(message.OpInsert, onA("", kubemsg.TypeNode, "edge-a"), true, `{"metadata":{"name":"edge-a"}}`), upRegister, nil, ""},
		{"node status", upMessage(message.OpUpdate, onA("", kubemsg.TypeNodeStatus, "edge-a"), false, `{"phase":"Running"}`), upNodeStatus, nil, ""},
		{"lease", upMessage(message.OpUpdate, onA(kubemsg.LeaseNamespace, kubemsg.TypeLease, "edge-a"), false, `{"durationSeconds":40}`), upLease, nil, ""},
		{"pod status", upMessage(message.OpUpdate, onA("default", kubemsg.TypePodStatus, "web"), false, `{"uid":"u","status":{"phase":"Running"}}`), upPodStatus, nil, ""},
		{"event", upMessage(message.OpInsert, onA("default", kubemsg.TypeEvent, "web.1"), true, `{"reason":"Pulled"}`), upEvent, nil, ""},
		{"configmap", upMessage(message.OpQuery, onA("default", kubemsg.TypeConfigMap, "cfg"), true, ``), upConfigMap, nil, ""},
		{"secret", upMessage(message.OpQuery, onA("default", kubemsg.TypeSecret, "creds"), true, ``), upSecret, nil, ""},
		{"token", upMessage(message.OpQuery, onA("default", kubemsg.TypeToken, "default"), true, `{"pod":"web","podUID":"u"}`), upToken, nil, ""},
		{"mirror pod create", upMessage(message.OpInsert, onA("default", kubemsg.TypeMirrorPod, "web-edge-a"), true, `{"metadata":{"name":"web-edge-a"}}`), upMirrorCreate, nil, ""},
		{"mirror pod delete", upMessage(message.OpDelete, onA("default", kubemsg.TypeMirrorPod, "web-edge-a"), true, `{"uid":"u"}`), upMirrorDelete, nil, ""},
		{"mirror pod sent one-way", upMessage(message.OpInsert, onA("default", kubemsg.TypeMirrorPod, "web-edge-a"), false, `{}`), upMirrorCreate, errUnsupported, "request (sync)"},
		{"mirror pod update", upMessage(message.OpUpdate, onA("default", kubemsg.TypeMirrorPod, "web-edge-a"), true, `{}`), upUnsupported, errUnsupported, "unsupported: update default/mirrorpod/web-edge-a"},
		{"pod delete", upMessage(message.OpDelete, onA("default", kubemsg.TypePod, "web"), true, `{"uid":"u"}`), upPodDelete, nil, ""},
		{"pod delete sent one-way", upMessage(message.OpDelete, onA("default", kubemsg.TypePod, "web"), false, `{"uid":"u"}`), upPodDelete, errUnsupported, "request (sync)"},
		{"pod delete without uid", upMessage(message.OpDelete, onA("default", kubemsg.TypePod, "web"), true, `{"uid":""}`), upPodDelete, errBadContent, "no uid"},
		{"pod delete of bad json", upMessage(message.OpDelete, onA("default", kubemsg.TypePod, "web"), true, ``), upPodDelete, errBadContent, "bad content for delete default/pod/web"},
		{"mirror pod delete without uid", upMessage(message.OpDelete, onA("default", kubemsg.TypeMirrorPod, "web-edge-a"), true, `{}`), upMirrorDelete, errBadContent, "no uid"},

		{"no node", upMessage(message.OpQuery, message.Resource{Namespace: "default", Type: kubemsg.TypeSecret, Name: "creds"}, true, ``), upSecret, errNoNode, "names no node"},
		{"unknown type", upMessage(message.OpUpdate, onA("default", "pod", "web"), false, `{}`), upUnsupported, errUnsupported, "unsupported: update default/pod/web"},
		{"unknown op", upMessage(message.OpDelete, onA("", kubemsg.TypeNode, "edge-a"), true, ``), upUnsupported, errUnsupported, "unsupported: delete null/node/edge-a"},
		{"status sent as a request", upMessage(message.OpUpdate, onA("default", kubemsg.TypePodStatus, "web"), true, `{}`), upPodStatus, errUnsupported, "one-way status"},
		{"request sent one-way", upMessage(message.OpQuery, onA("default", kubemsg.TypeSecret, "creds"), false, ``), upSecret, errUnsupported, "request (sync)"},
		{"no name", upMessage(message.OpQuery, onA("default", kubemsg.TypeSecret, ""), true, ``), upSecret, errUnsupported, "names no object"},
		{"bad json", upMessage(message.OpUpdate, onA("default", kubemsg.TypePodStatus, "web"), false, `{"uid":`), upPodStatus, errBadContent, "bad content for update default/podstatus/web: unexpected end of JSON input"},
		{"bad lease", upMessage(message.OpUpdate, onA(kubemsg.LeaseNamespace, kubemsg.TypeLease, "edge-a"), false, `{"durationSeconds":0}`), upLease, errBadContent, "not positive"},
		{"wrong payload type", upMessage(message.OpInsert, onA("", kubemsg.TypeNode, "edge-a"), true, `[1,2]`), upRegister, errBadContent, "bad content for insert null/node/edge-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := decode(tt.m)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("decode = %v", err)
				}
			} else {
				if !errors.Is(err, tt.err) {
					t.Fatalf("decode = %v, want %v", err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.says) {
					t.Errorf("error %q does not say %q", err, tt.says)
				}
				return
			}
			if u.kind != tt.kind {
				t.Errorf("kind %v, want %v", u.kind, tt.kind)
			}
			if u.node != "edge-a" || u.res.Node != "" || u.res != tt.m.Route.Resource.WithoutNode() {
				t.Errorf("node %q resource %#v", u.node, u.res)
			}
			payloads := 0
			for _, set := range []bool{u.nodeObj != nil, u.nodeStatus != nil, u.lease != nil, u.podStatus != nil, u.event != nil, u.token != nil,
				u.mirrorPod != nil, u.mirrorDel != nil, u.podDel != nil} {
				if set {
					payloads++
				}
			}
			if want := map[bool]int{true: 0, false: 1}[u.kind == upConfigMap || u.kind == upSecret]; payloads != want {
				t.Errorf("%d payloads decoded, want %d", payloads, want)
			}
		})
	}
}

func TestDecodeEventDefaults(t *testing.T) {
	m := upMessage(message.OpInsert, message.Resource{Node: "edge-a", Namespace: "default", Type: kubemsg.TypeEvent, Name: "web.1"}, true, `{"reason":"Pulled"}`)
	u, err := decode(m)
	if err != nil {
		t.Fatal(err)
	}
	if u.event.Namespace != "default" || u.event.Name != "web.1" {
		t.Errorf("event %s/%s, want the resource's default/web.1", u.event.Namespace, u.event.Name)
	}
	m.Content = []byte(`{"metadata":{"namespace":"other","name":"x"}}`)
	if u, err = decode(m); err != nil {
		t.Fatal(err)
	}
	if u.event.Namespace != "other" || u.event.Name != "x" {
		t.Errorf("event %s/%s: the sent names must be kept for authorize to check", u.event.Namespace, u.event.Name)
	}
}

func TestDecodeMirrorPodNamespace(t *testing.T) {
	m := upMessage(message.OpInsert, message.Resource{Node: "edge-a", Namespace: "kube-system", Type: kubemsg.TypeMirrorPod, Name: "web-edge-a"}, true,
		`{"metadata":{"name":"web-edge-a"}}`)
	u, err := decode(m)
	if err != nil {
		t.Fatal(err)
	}
	if u.mirrorPod.Namespace != "kube-system" {
		t.Errorf("namespace %q, want the resource's", u.mirrorPod.Namespace)
	}
	m.Content = []byte(`{"metadata":{"name":"web-edge-a","namespace":"other"}}`)
	if u, err = decode(m); err != nil {
		t.Fatal(err)
	}
	if u.mirrorPod.Namespace != "other" {
		t.Errorf("namespace %q: the sent one must be kept for authorize to check", u.mirrorPod.Namespace)
	}
}
