package objsync

import (
	"errors"
	"strings"
	"testing"

	"github.com/tether-edge/tether/common/message"
)

func TestManifestRoundTrip(t *testing.T) {
	in := []Entry{
		{Key: message.Resource{Namespace: "default", Type: "pod", Name: "web"}, Version: Version{UID: "u1", ResourceVersion: "7"}},
		{Key: message.Resource{Type: "node", Name: "edge-1"}, Version: Version{ResourceVersion: "9"}},
	}
	b, err := EncodeManifest(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0] != in[0] || out[1] != in[1] {
		t.Fatalf("round trip: got %+v, want %+v", out, in)
	}
}

func TestDecodeManifestErrors(t *testing.T) {
	for _, tc := range []struct{ content, want string }{
		{`{`, "decode manifest"},
		{`{"k":"a/b/c"}`, "decode manifest"},
		{`[{"k":"a//c"}]`, "entry 0"},
		{`[{"k":"default/pod"}]`, "must be <namespace>/<type>/<name>"},
		{`[{"k":"node/n1/default/pod/x"}]`, "must be <namespace>/<type>/<name>"},
		{`[{"k":"default/pod/x"},{"k":"default/pod/x"}]`, "entry 1: key \"default/pod/x\" listed twice"},
	} {
		_, err := DecodeManifest([]byte(tc.content))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeManifest(%s) = %v, want an error containing %q", tc.content, err, tc.want)
		}
	}
}

func TestUIDOf(t *testing.T) {
	for _, tc := range []struct{ content, uid string }{
		{`{"metadata":{"name":"x","uid":"abc"},"spec":{}}`, "abc"},
		{`{"kind":"Pod","spec":{"a":[1,{"uid":"no"}]},"metadata":{"labels":{"uid":"no"},"uid":"late"}}`, "late"},
		{`{"metadata":{"name":"x"}}`, ""},
		{`{"kind":"Pod"}`, ""},
		{`{}`, ""},
	} {
		if uid, err := UIDOf([]byte(tc.content)); err != nil || uid != tc.uid {
			t.Errorf("UIDOf(%s) = %q, %v; want %q", tc.content, uid, err, tc.uid)
		}
	}
	for _, bad := range []string{`"not an object"`, `{"metadata":"x"}`, `{"metadata":{"uid":7}}`, `{"kind":`, ``, `[1]`} {
		if _, err := UIDOf([]byte(bad)); err == nil {
			t.Errorf("UIDOf(%s) accepted it", bad)
		}
	}
}

func TestInbound(t *testing.T) {
	var in Inbound
	steps := []struct {
		seq   uint64
		fresh bool
		err   bool
	}{{1, true, false}, {2, true, false}, {2, false, false}, {1, false, false}, {4, false, true}, {0, false, true}, {3, true, false}}
	for _, s := range steps {
		fresh, err := in.Check(s.seq)
		if fresh != s.fresh || (err != nil) != s.err || (err != nil && !errors.Is(err, ErrProtocol)) {
			t.Fatalf("Check(%d) = %v, %v; want fresh %v, error %v", s.seq, fresh, err, s.fresh, s.err)
		}
	}
	if in.Last() != 3 {
		t.Fatalf("Last = %d, want 3", in.Last())
	}
}

func obj(name, uid, rv string) Object {
	return Object{
		Key:     message.Resource{Namespace: "default", Type: "configmap", Name: name},
		Version: Version{UID: uid, ResourceVersion: rv},
		Content: []byte(`{}`),
	}
}

// drain returns what Next hands out until it stops.
func drain(o *Outbound) []message.Message {
	var out []message.Message
	for m, ok := o.Next(); ok; m, ok = o.Next() {
		out = append(out, m)
	}
	return out
}

func TestOutboundSendsOnlyTheDifference(t *testing.T) {
	o := NewOutbound("cloudhub", 0)
	a, b, c := obj("a", "ua", "1"), obj("b", "ub", "2"), obj("c", "uc", "3")
	o.Set(a)
	o.Set(b)
	if _, ok := o.Next(); ok {
		t.Fatal("Next handed out a message before any session")
	}
	o.Connect([]Entry{
		{Key: a.Key, Version: a.Version},                                // same: nothing
		{Key: b.Key, Version: Version{UID: "ub", ResourceVersion: "1"}}, // older: update
		{Key: c.Key, Version: c.Version},                                // not desired: delete
	})
	got := drain(o)
	want := []struct {
		op   message.Operation
		name string
	}{{message.OpUpdate, "b"}, {message.OpDelete, "c"}, {OpSynced, ""}}
	if len(got) != len(want) {
		t.Fatalf("got %d messages %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Route.Operation != w.op || got[i].Route.Resource.Name != w.name || got[i].Header.Seq != uint64(i+1) {
			t.Errorf("message %d = %s %s seq %d, want %s %s seq %d", i, got[i].Route.Operation, got[i].Route.Resource.Name, got[i].Header.Seq, w.op, w.name, i+1)
		}
	}
	if o.InSync() {
		t.Fatal("InSync before the acks")
	}
	if err := o.Ack(3); err != nil || !o.InSync() {
		t.Fatalf("after Ack(3): err %v, InSync %v", err, o.InSync())
	}
	if err := o.Ack(4); !errors.Is(err, ErrProtocol) {
		t.Fatalf("Ack beyond what was sent = %v, want ErrProtocol", err)
	}
}

func TestOutboundCoalescesAndRespectsTheWindow(t *testing.T) {
	o := NewOutbound("cloudhub", 2)
	o.Connect(nil)
	for rv := range 100 {
		o.Set(obj("a", "ua", string(rune('0'+rv%10))))
	}
	o.Set(obj("b", "ub", "1"))
	o.Set(obj("c", "uc", "1"))
	got := drain(o)
	if len(got) != 2 || got[0].Route.Resource.Name != "a" || got[0].Header.ResourceVersion != "9" {
		t.Fatalf("first window = %+v, want a at its latest version, then one more", got)
	}
	if err := o.Ack(1); err != nil {
		t.Fatal(err)
	}
	if got := drain(o); len(got) != 1 || got[0].Header.Seq != 3 {
		t.Fatalf("after one ack: %+v, want one message with seq 3", got)
	}
}

func TestStatusQueueKeepsLatestAcrossDisconnects(t *testing.T) {
	q := NewStatusQueue(0)
	k := message.Resource{Namespace: "default", Type: "podstatus", Name: "web"}
	put := func(ts int64) bool {
		return q.Put(message.Message{Header: message.Header{Timestamp: ts}, Route: message.Route{Resource: k}})
	}
	put(10)
	put(20)
	if put(15) {
		t.Fatal("an older status was kept")
	}
	q.Connect()
	m, ok := q.Next()
	if !ok || m.Header.Timestamp != 20 || m.Header.Seq != 1 {
		t.Fatalf("Next = %+v, %v; want the status of 20 as seq 1", m, ok)
	}
	q.Disconnect() // lost in flight
	if !put(20) {  // made in the same millisecond: the later one wins
		t.Fatal("a status as new as the kept one was dropped")
	}
	q.Connect()
	m, _ = q.Next()
	if m.Header.Timestamp != 20 || m.Header.Seq != 1 {
		t.Fatalf("after reconnect Next = %+v; want the status of 20 again as seq 1", m)
	}
	if err := q.Ack(1); err != nil || q.Len() != 0 {
		t.Fatalf("Ack: %v, Len %d", err, q.Len())
	}
}

func TestStatusFilterForgetsOldestHalf(t *testing.T) {
	f := NewStatusFilter(4)
	for i := range 5 {
		k := message.Resource{Type: "t", Name: string(rune('a' + i))}
		if !f.Admit(message.Message{Header: message.Header{Timestamp: int64(i + 1)}, Route: message.Route{Resource: k}}) {
			t.Fatalf("status %d refused", i)
		}
	}
	if len(f.last) > 4 {
		t.Fatalf("filter holds %d keys, bound is 4", len(f.last))
	}
	e := message.Resource{Type: "t", Name: "e"}
	if f.Admit(message.Message{Header: message.Header{Timestamp: 4}, Route: message.Route{Resource: e}}) {
		t.Fatal("an older status was admitted")
	}
	if !f.Admit(message.Message{Header: message.Header{Timestamp: 5}, Route: message.Route{Resource: e}}) {
		t.Fatal("a status as new as the last was refused")
	}
}
