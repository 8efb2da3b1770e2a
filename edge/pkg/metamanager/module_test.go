package metamanager

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
)

// recorder is a test module: it answers requests with answer, if set, and
// hands every other message to got.
type recorder struct {
	name   string
	bus    *beehive.Bus
	got    chan message.Message
	answer func(message.Message) message.Message
}

func (r *recorder) Name() string  { return r.name }
func (r *recorder) Group() string { return r.name }
func (r *recorder) Start(ctx context.Context) error {
	for {
		m, err := r.bus.Receive(ctx, r.name)
		if err != nil {
			return nil
		}
		if m.Header.Sync && r.answer != nil {
			if err := r.bus.SendResponse(ctx, r.answer(m)); err != nil {
				return err
			}
			continue
		}
		select {
		case r.got <- m:
		case <-ctx.Done():
			return nil
		}
	}
}

// next returns the next message r got, failing after a deadline.
func (r *recorder) next(t *testing.T) message.Message {
	t.Helper()
	select {
	case m := <-r.got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("%s got nothing in 10s", r.name)
		return message.Message{}
	}
}

type harness struct {
	bus   *beehive.Bus
	mgr   *Manager
	edged *recorder
	hub   *recorder
	stop  func()
}

// start runs a Manager over store with a recording subscriber ("edged")
// and a recording hub that answers queries with hubAnswer.
func start(t *testing.T, store *Store, hubAnswer func(message.Message) message.Message) *harness {
	t.Helper()
	bus, err := beehive.New(beehive.Options{Logger: quietLogger(), QueueSize: 256})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		bus:   bus,
		edged: &recorder{name: "edged", bus: bus, got: make(chan message.Message, 256)},
		hub:   &recorder{name: "hub", bus: bus, got: make(chan message.Message, 256), answer: hubAnswer},
	}
	h.mgr, err = New(Options{Bus: bus, Store: store, Logger: quietLogger(), Hub: "hub", Subscribers: []string{"edged"}, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []beehive.Module{h.mgr, h.edged, h.hub} {
		if err := bus.Register(m, beehive.Policy{OnError: beehive.StopProcess}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bus.Run(ctx) }()
	h.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bus: %v", err)
		}
	}
	t.Cleanup(func() {
		select {
		case <-ctx.Done():
		default:
			h.stop()
		}
	})
	return h
}

func object(kind, uid, data string) []byte {
	return fmt.Appendf(nil, `{"metadata":{"uid":%q},"kind":%q,"data":%q}`, uid, kind, data)
}

var (
	podA   = message.Resource{Namespace: "default", Type: kubemsg.TypePod, Name: "a"}
	cfgC   = message.Resource{Namespace: "default", Type: kubemsg.TypeConfigMap, Name: "c"}
	nodeN  = message.Resource{Type: kubemsg.TypeNode, Name: "n"}
	leaseN = message.Resource{Namespace: kubemsg.LeaseNamespace, Type: kubemsg.TypeLease, Name: "n"}
)

// At Start a subscriber is handed every stored object, then OpLoaded, with
// no cloud anywhere; then every change Apply commits, in order.
func TestSubscribersGetTheStoreThenChanges(t *testing.T) {
	store := openTestStore(t, filepath.Join(t.TempDir(), "edge.db"))
	mustApply(t, store, syncMsg(message.OpInsert, podA, "1", object("Pod", "u-a", "a1")))
	mustApply(t, store, syncMsg(message.OpInsert, cfgC, "2", object("ConfigMap", "u-c", "c1")))
	mustApply(t, store, syncMsg(message.OpInsert, nodeN, "3", object("Node", "u-n", "n1")))
	h := start(t, store, nil)

	seen := map[message.Resource]string{}
	for range 3 {
		m := h.edged.next(t)
		if m.Route.Operation != message.OpInsert {
			t.Fatalf("replay sent %s %s; want insert", m.Route.Operation, m.Route.Resource)
		}
		seen[m.Route.Resource] = m.Header.ResourceVersion
	}
	if want := map[message.Resource]string{podA: "1", cfgC: "2", nodeN: "3"}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("replayed %v; want %v", seen, want)
	}
	if m := h.edged.next(t); m.Route.Operation != OpLoaded {
		t.Fatalf("after the replay got %s; want %s", m.Route.Operation, OpLoaded)
	}

	mustApply(t, h.mgr, syncMsg(message.OpUpdate, podA, "4", object("Pod", "u-a", "a2")))
	mustApply(t, h.mgr, syncMsg(message.OpDelete, cfgC, "", nil))
	if m := h.edged.next(t); m.Route.Operation != message.OpUpdate || m.Route.Resource != podA || m.Header.ResourceVersion != "4" {
		t.Fatalf("got %s %s rv %s; want the pod's update to rv 4", m.Route.Operation, m.Route.Resource, m.Header.ResourceVersion)
	}
	if m := h.edged.next(t); m.Route.Operation != message.OpDelete || m.Route.Resource != cfgC {
		t.Fatalf("got %s %s; want the configmap's delete", m.Route.Operation, m.Route.Resource)
	}
}

func status(res message.Resource, ts int64, content string) message.Message {
	m := message.New("nodestatus", Name, message.OpUpdate, res, []byte(content))
	m.Route.Group = kubemsg.Group
	m.Header.Timestamp = ts
	return m
}

// Statuses are kept newest-first in SQLite and handed to the hub; an older
// one is dropped; after a restart the kept ones go to the hub again.
func TestStatusesAreKeptAndSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edge.db")
	store := openTestStore(t, path)
	h := start(t, store, nil)
	ctx := context.Background()
	for _, m := range []message.Message{
		status(leaseN, 200, "new"),
		status(leaseN, 100, "old"), // older: dropped
		status(nodeN, 150, "node"),
	} {
		if err := h.bus.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"new", "node"} {
		m := h.hub.next(t)
		if string(m.Content) != want || m.Route.Destination != "hub" || m.Route.Group != kubemsg.Group {
			t.Fatalf("hub got %q to %s/%s; want %q to hub/%s", m.Content, m.Route.Destination, m.Route.Group, want, kubemsg.Group)
		}
	}
	h.stop()
	store.Close()

	h = start(t, openTestStore(t, path), nil)
	got := map[message.Resource]string{}
	for range 2 {
		m := h.hub.next(t)
		got[m.Route.Resource] = string(m.Content)
	}
	if got[leaseN] != "new" || got[nodeN] != "node" {
		t.Fatalf("after a restart the hub got %v; want the kept lease %q and node status %q", got, "new", "node")
	}
}

// Queries are answered from the store; what it lacks is asked of the
// cloud (configmaps, secrets, tokens) or is an error (everything else).
func TestQueries(t *testing.T) {
	store := openTestStore(t, filepath.Join(t.TempDir(), "edge.db"))
	mustApply(t, store, syncMsg(message.OpInsert, cfgC, "1", object("ConfigMap", "u-c", "local")))
	mustApply(t, store, syncMsg(message.OpInsert, podA, "2", object("Pod", "u-a", "pod")))
	var asked []message.Resource
	h := start(t, store, func(m message.Message) message.Message {
		asked = append(asked, m.Route.Resource)
		if m.Route.Group != kubemsg.Group {
			return m.Response("hub", message.OpError, []byte("no group"))
		}
		if m.Route.Resource.Name == "refused" {
			return m.Response("hub", message.OpError, []byte("forbidden: not yours"))
		}
		return m.Response("hub", message.OpResponse, []byte("cloud:"+m.Route.Resource.String()))
	})
	ask := func(res message.Resource) message.Message {
		t.Helper()
		q := message.New("edged", Name, message.OpQuery, res, nil)
		resp, err := h.bus.SendSync(context.Background(), q, 10*time.Second)
		if err != nil {
			t.Fatalf("query %s: %v", res, err)
		}
		return resp
	}
	if r := ask(cfgC); r.Route.Operation != message.OpResponse || string(r.Content) != string(object("ConfigMap", "u-c", "local")) {
		t.Errorf("stored configmap: %s %s", r.Route.Operation, r.Content)
	}
	r := ask(message.Resource{Namespace: "default", Type: kubemsg.TypePod})
	var items []json.RawMessage
	if err := json.Unmarshal(r.Content, &items); r.Route.Operation != message.OpResponse || err != nil || len(items) != 1 {
		t.Errorf("list of pods: %s %s (%v)", r.Route.Operation, r.Content, err)
	}
	if r := ask(message.Resource{Namespace: "default", Type: kubemsg.TypePod, Name: "missing"}); r.Route.Operation != message.OpError {
		t.Errorf("missing pod: %s %s; want an error, not a cloud query", r.Route.Operation, r.Content)
	}
	remoteSecret := message.Resource{Namespace: "default", Type: kubemsg.TypeSecret, Name: "s"}
	if r := ask(remoteSecret); r.Route.Operation != message.OpResponse || string(r.Content) != "cloud:default/secret/s" {
		t.Errorf("secret not stored: %s %s; want the cloud's answer", r.Route.Operation, r.Content)
	}
	token := message.Resource{Namespace: "default", Type: kubemsg.TypeToken, Name: "default"}
	if r := ask(token); r.Route.Operation != message.OpResponse || string(r.Content) != "cloud:default/serviceaccounttoken/default" {
		t.Errorf("token: %s %s; want the cloud's answer", r.Route.Operation, r.Content)
	}
	if r := ask(message.Resource{Namespace: "default", Type: kubemsg.TypeConfigMap, Name: "refused"}); r.Route.Operation != message.OpError || string(r.Content) != "forbidden: not yours" {
		t.Errorf("refused configmap: %s %s; want the cloud's error relayed", r.Route.Operation, r.Content)
	}
	if fmt.Sprint(asked) != fmt.Sprint([]message.Resource{remoteSecret, token, {Namespace: "default", Type: kubemsg.TypeConfigMap, Name: "refused"}}) {
		t.Errorf("the cloud was asked for %v", asked)
	}
}
