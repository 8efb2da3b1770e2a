package metamanager

import (
	"context"
	"reflect"
	"testing"

	"github.com/tether-edge/tether/common/devicemsg"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
)

func putStatus(t *testing.T, s *Store, m message.Message) bool {
	t.Helper()
	kept, err := s.PutStatus(context.Background(), m)
	if err != nil {
		t.Fatalf("PutStatus %s @%d: %v", m.Route.Resource, m.Header.Timestamp, err)
	}
	return kept
}

func statuses(t *testing.T, s *Store) []message.Message {
	t.Helper()
	got, err := s.Statuses(context.Background())
	if err != nil {
		t.Fatalf("Statuses: %v", err)
	}
	return got
}

func TestStorePutStatusNewestWins(t *testing.T) {
	s := openTestStore(t, tempDB(t))
	key := res("", kubemsg.TypeNodeStatus, "edge-1")

	first := statusMsg(key, 100, `{"v":1}`)
	first.Header.Sync = true
	first.Header.ResourceVersion = "7"
	if !putStatus(t, s, first) {
		t.Fatal("first status not kept")
	}
	if putStatus(t, s, statusMsg(key, 99, `{"v":"older"}`)) {
		t.Fatal("an older status was kept")
	}
	if got := statuses(t, s); len(got) != 1 || !reflect.DeepEqual(got[0], first) {
		t.Fatalf("Statuses = %+v, want the first one unchanged: %+v", got, first)
	}

	same := statusMsg(key, 100, `{"v":"same time"}`)
	if !putStatus(t, s, same) {
		t.Fatal("a status with an equal timestamp was not kept")
	}
	newer := statusMsg(key, 101, `{"v":2}`)
	if !putStatus(t, s, newer) {
		t.Fatal("a newer status was not kept")
	}
	if got := statuses(t, s); len(got) != 1 || !reflect.DeepEqual(got[0], newer) {
		t.Fatalf("Statuses = %+v, want %+v", got, newer)
	}
}

func TestStoreStatusesOldestFirstAndSurviveReopen(t *testing.T) {
	path := tempDB(t)
	s := openTestStore(t, path)
	lease := statusMsg(res(kubemsg.LeaseNamespace, kubemsg.TypeLease, "edge-1"), 300, `{"durationSeconds":40}`)
	node := statusMsg(res("", kubemsg.TypeNodeStatus, "edge-1"), 100, `{"phase":"Running"}`)
	pod := statusMsg(res("default", kubemsg.TypePodStatus, "web"), 200, `{"uid":"u1"}`)
	for _, m := range []message.Message{lease, node, pod} {
		putStatus(t, s, m)
	}
	want := []message.Message{node, pod, lease}
	if got := statuses(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("Statuses = %+v\nwant %+v", got, want)
	}

	if err := s.DeleteStatus(context.Background(), node.Route.Resource); err != nil {
		t.Fatalf("DeleteStatus: %v", err)
	}
	if err := s.DeleteStatus(context.Background(), node.Route.Resource); err != nil {
		t.Fatalf("DeleteStatus of an absent status: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s2 := openTestStore(t, path)
	if got := statuses(t, s2); !reflect.DeepEqual(got, []message.Message{pod, lease}) {
		t.Fatalf("Statuses after reopen = %+v", got)
	}
}

func TestStorePodDeleteDropsItsStatus(t *testing.T) {
	s := openTestStore(t, tempDB(t))
	web, db := res("default", kubemsg.TypePod, "web"), res("default", kubemsg.TypePod, "db")
	mustApply(t, s, syncMsg(message.OpInsert, web, "1", podJSON("default", "web", "u1", "1")))
	mustApply(t, s, syncMsg(message.OpInsert, db, "2", podJSON("default", "db", "u2", "2")))
	webStatus := statusMsg(res("default", kubemsg.TypePodStatus, "web"), 10, `{"uid":"u1"}`)
	dbStatus := statusMsg(res("default", kubemsg.TypePodStatus, "db"), 11, `{"uid":"u2"}`)
	putStatus(t, s, webStatus)
	putStatus(t, s, dbStatus)

	// A configmap of the same name is not the pod.
	cm := res("default", kubemsg.TypeConfigMap, "db")
	mustApply(t, s, syncMsg(message.OpInsert, cm, "3", []byte(`{"metadata":{"uid":"u3"}}`)))
	mustApply(t, s, syncMsg(message.OpDelete, cm, "", nil))

	mustApply(t, s, syncMsg(message.OpDelete, web, "", nil))
	if got := statuses(t, s); !reflect.DeepEqual(got, []message.Message{dbStatus}) {
		t.Fatalf("Statuses after deleting pod web = %+v, want only db's", got)
	}
}

func TestStoreDeviceDeleteDropsItsStatus(t *testing.T) {
	s := openTestStore(t, tempDB(t))
	dev := res("default", devicemsg.TypeDevice, "thermo-1")
	mustApply(t, s, syncMsg(message.OpInsert, dev, "1", []byte(`{"metadata":{"uid":"d1"}}`)))
	devStatus := statusMsg(res("default", devicemsg.TypeDeviceStatus, "thermo-1"), 10, `{"uid":"d1"}`)
	podStatus := statusMsg(res("default", kubemsg.TypePodStatus, "thermo-1"), 11, `{"uid":"u1"}`)
	putStatus(t, s, devStatus)
	putStatus(t, s, podStatus)

	mustApply(t, s, syncMsg(message.OpDelete, dev, "", nil))
	if got := statuses(t, s); !reflect.DeepEqual(got, []message.Message{podStatus}) {
		t.Fatalf("Statuses after deleting device thermo-1 = %+v, want only the pod's", got)
	}
}
