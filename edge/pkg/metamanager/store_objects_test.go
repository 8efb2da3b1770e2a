package metamanager

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
	"github.com/tether-edge/tether/edge/pkg/edgehub"
)

var _ edgehub.Store = (*Store)(nil)

func TestStoreObjectsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, tempDB(t))

	pod := res("default", "pod", "web")
	cm := res("default", "configmap", "web")
	otherPod := res("kube-system", "pod", "dns")
	node := res("", "node", "edge-1")
	mustApply(t, s, syncMsg(message.OpInsert, pod, "10", podJSON("default", "web", "u1", "10")))
	mustApply(t, s, syncMsg(message.OpInsert, otherPod, "11", podJSON("kube-system", "dns", "u2", "11")))
	mustApply(t, s, syncMsg(message.OpInsert, cm, "12", []byte(`{"metadata":{"uid":"u3"},"data":{"k":"v"}}`)))
	mustApply(t, s, syncMsg(message.OpInsert, node, "13", []byte(`{"metadata":{"name":"edge-1","uid":"u4"}}`)))

	got, err := s.Get(ctx, pod)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := Record{Key: pod, Version: objsync.Version{UID: "u1", ResourceVersion: "10"}, Content: podJSON("default", "web", "u1", "10")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Get = %+v, want %+v", got, want)
	}

	// An update replaces version and content.
	mustApply(t, s, syncMsg(message.OpUpdate, pod, "20", podJSON("default", "web", "u1", "20")))
	if got, _ := s.Get(ctx, pod); got.ResourceVersion != "20" || !strings.Contains(string(got.Content), `"20"`) {
		t.Fatalf("after update Get = %+v", got)
	}

	keys := func(rs []Record) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Key.String())
		}
		return out
	}
	for _, tc := range []struct {
		typ, ns string
		want    []string
	}{
		{"", "", []string{"default/configmap/web", "null/node/edge-1", "default/pod/web", "kube-system/pod/dns"}},
		{"pod", "", []string{"default/pod/web", "kube-system/pod/dns"}},
		{"pod", "kube-system", []string{"kube-system/pod/dns"}},
		{"", "default", []string{"default/configmap/web", "default/pod/web"}},
		{"secret", "", nil},
	} {
		rs, err := s.List(ctx, tc.typ, tc.ns)
		if err != nil {
			t.Fatalf("List(%q, %q): %v", tc.typ, tc.ns, err)
		}
		if got := keys(rs); !slices.Equal(got, tc.want) {
			t.Errorf("List(%q, %q) = %v, want %v", tc.typ, tc.ns, got, tc.want)
		}
	}

	manifest, err := s.Manifest(ctx)
	if err != nil {
		t.Fatalf("Manifest: %v", err)
	}
	wantManifest := []objsync.Entry{
		{Key: cm, Version: objsync.Version{UID: "u3", ResourceVersion: "12"}},
		{Key: node, Version: objsync.Version{UID: "u4", ResourceVersion: "13"}},
		{Key: pod, Version: objsync.Version{UID: "u1", ResourceVersion: "20"}},
		{Key: otherPod, Version: objsync.Version{UID: "u2", ResourceVersion: "11"}},
	}
	if !reflect.DeepEqual(manifest, wantManifest) {
		t.Errorf("Manifest = %+v, want %+v", manifest, wantManifest)
	}

	mustApply(t, s, syncMsg(message.OpDelete, pod, "", nil))
	mustApply(t, s, syncMsg(message.OpDelete, pod, "", nil)) // absent is fine
	_, err = s.Get(ctx, pod)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after delete: err = %v, want ErrNotFound", err)
	}
	if want := "default/pod/web not found in " + s.path; err.Error() != want {
		t.Errorf("Get after delete: err = %q, want %q", err, want)
	}
}

func TestStoreApplyIsCommittedWhenItReturns(t *testing.T) {
	path := tempDB(t)
	s := openTestStore(t, path)
	key := res("default", "pod", "web")
	mustApply(t, s, syncMsg(message.OpInsert, key, "1", podJSON("default", "web", "u1", "1")))

	// Another handle on the file, opened while the first is still open,
	// sees the row: it is in the file (WAL), not only in a buffer.
	ro, err := OpenStore(StoreOptions{Path: path, Logger: quietLogger(), ReadOnly: true})
	if err != nil {
		t.Fatalf("OpenStore read-only: %v", err)
	}
	defer ro.Close()
	if r, err := ro.Get(context.Background(), key); err != nil || r.UID != "u1" {
		t.Fatalf("read-only Get = %+v, %v", r, err)
	}

	// And after a close and reopen.
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s2 := openTestStore(t, path)
	if r, err := s2.Get(context.Background(), key); err != nil || r.ResourceVersion != "1" {
		t.Fatalf("Get after reopen = %+v, %v", r, err)
	}
}

func TestStoreRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, tempDB(t))
	pod := res("default", "pod", "web")
	good := podJSON("default", "web", "u1", "1")
	for _, tc := range []struct {
		name string
		m    message.Message
		want []string
	}{
		{"query op", syncMsg(message.OpQuery, pod, "1", good), []string{"default/pod/web", `operation "query"`}},
		{"no resource", syncMsg(message.OpInsert, message.Resource{}, "1", good), []string{"no type"}},
		{"no name", syncMsg(message.OpInsert, res("default", "pod", ""), "1", good), []string{"default/pod", "names no object"}},
		{"slash in name", syncMsg(message.OpInsert, res("default", "pod", "a/b"), "1", good), []string{`name "a/b"`}},
		{"cloud form", syncMsg(message.OpInsert, pod.OnNode("edge-1"), "1", good), []string{"node/edge-1/default/pod/web", "edge form"}},
		{"delete without name", syncMsg(message.OpDelete, res("default", "pod", ""), "1", nil), []string{"names no object"}},
		{"empty content", syncMsg(message.OpInsert, pod, "1", nil), []string{"default/pod/web", "not a JSON object"}},
		{"array", syncMsg(message.OpInsert, pod, "1", []byte(`[{"metadata":{}}]`)), []string{"default/pod/web", "not a JSON object"}},
		{"string", syncMsg(message.OpUpdate, pod, "1", []byte(`"pod"`)), []string{"not a JSON object"}},
		{"truncated", syncMsg(message.OpInsert, pod, "1", []byte(`{"metadata":{"uid":"u1"},"spec":`)), []string{"default/pod/web", "not valid JSON"}},
		{"metadata not an object", syncMsg(message.OpInsert, pod, "1", []byte(`{"metadata":5}`)), []string{"default/pod/web", "metadata"}},
		{"uid not a string", syncMsg(message.OpInsert, pod, "1", []byte(`{"metadata":{"uid":7}}`)), []string{"metadata.uid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Apply(ctx, tc.m)
			if err == nil {
				t.Fatal("Apply succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if n := stored(t, s); n != 0 {
		t.Errorf("after bad input the store holds %d objects; want nothing written", n)
	}

	if _, err := s.Get(ctx, res("default", "pod", "")); err == nil || !strings.Contains(err.Error(), "names no object") {
		t.Errorf("Get without a name: err = %v", err)
	}
	if _, err := s.PutStatus(ctx, statusMsg(message.Resource{}, 1, "{}")); err == nil {
		t.Error("PutStatus without a resource succeeded")
	}
	if err := s.DeleteStatus(ctx, res("default", "", "x")); err == nil {
		t.Error("DeleteStatus without a type succeeded")
	}
}
