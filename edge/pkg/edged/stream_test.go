package edged

import (
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
	"github.com/tether-edge/tether/edge/pkg/edgestream"
)

func streamPod(ns, name string, uid types.UID, containers ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: uid}}
	p.Spec.InitContainers = []corev1.Container{{Name: "init"}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	return p
}

func TestFindPod(t *testing.T) {
	pods := []*corev1.Pod{streamPod("default", "web", "uid-1", "app"), streamPod("other", "web", "uid-2", "app")}
	for _, tc := range []struct {
		ref     edgestream.PodRef
		wantUID types.UID
		wantErr string
	}{
		{ref: edgestream.PodRef{Namespace: "default", Name: "web"}, wantUID: "uid-1"},
		{ref: edgestream.PodRef{Namespace: "other", Name: "web", UID: "uid-2"}, wantUID: "uid-2"},
		{ref: edgestream.PodRef{Namespace: "default", Name: "web", UID: "uid-old"}, wantErr: "pod default/web with UID uid-old is not on node n1"},
		{ref: edgestream.PodRef{Namespace: "default", Name: "db"}, wantErr: "pod default/db is not on node n1"},
	} {
		p, err := findPod(pods, tc.ref, "n1")
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr || !errors.Is(err, edgestream.ErrNotFound) {
				t.Errorf("findPod(%+v) = %v, want ErrNotFound %q", tc.ref, err, tc.wantErr)
			}
			continue
		}
		if err != nil || p.UID != tc.wantUID {
			t.Errorf("findPod(%+v) = %v, %v; want uid %s", tc.ref, p, err, tc.wantUID)
		}
	}
}

func TestResolveContainer(t *testing.T) {
	pod := streamPod("default", "web", "uid-1", "app", "side")
	state := &runstate.Pod{UID: "uid-1", Containers: []runstate.Container{ // newest first
		{ID: "app-2", Name: "app", Attempt: 2},
		{ID: "side-0", Name: "side", Attempt: 0},
		{ID: "app-1", Name: "app", Attempt: 1},
		{ID: "init-0", Name: "init", Attempt: 0},
	}}
	logDir := filepath.Join("/var/log/pods", "default_web_uid-1")
	for _, tc := range []struct {
		name     string
		state    *runstate.Pod
		ctr      string
		previous bool
		wantID   string
		wantLog  string
		wantKind error
		wantErr  string
	}{
		{name: "newest", state: state, ctr: "app", wantID: "app-2", wantLog: filepath.Join(logDir, "app", "2.log")},
		{name: "previous", state: state, ctr: "app", previous: true, wantID: "app-1", wantLog: filepath.Join(logDir, "app", "1.log")},
		{name: "init container", state: state, ctr: "init", wantID: "init-0", wantLog: filepath.Join(logDir, "init", "0.log")},
		{name: "no previous", state: state, ctr: "side", previous: true,
			wantKind: edgestream.ErrBadRequest, wantErr: `previous terminated container "side" in pod "web" not found`},
		{name: "not in spec", state: state, ctr: "db", wantKind: edgestream.ErrNotFound, wantErr: `container "db" not found in pod "web"`},
		{name: "not started", state: nil, ctr: "app", wantKind: edgestream.ErrBadRequest, wantErr: `container "app" in pod "web" is waiting to start`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := resolveContainer(pod, tc.state, tc.ctr, tc.previous, "/var/log/pods")
			if tc.wantKind != nil {
				if !errors.Is(err, tc.wantKind) || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %v %q", err, tc.wantKind, tc.wantErr)
				}
				return
			}
			if err != nil || c.ID != tc.wantID || c.LogPath != tc.wantLog {
				t.Fatalf("got %+v, %v; want %s at %s", c, err, tc.wantID, tc.wantLog)
			}
		})
	}
}

// TestStreamRuntimeBeforeRuntime: a desired pod's container is unavailable
// (503) until the runtime is reached; an unknown pod is still not found.
func TestStreamRuntimeBeforeRuntime(t *testing.T) {
	e := &Edged{opts: Options{NodeName: "n1"}, want: newDesired(), log: slog.New(slog.DiscardHandler)}
	e.want.setPod(streamPod("default", "web", "uid-1", "app"))
	rt := e.StreamRuntime()
	ctx := t.Context()
	if _, err := rt.Container(ctx, edgestream.ContainerRef{Namespace: "default", Pod: "web", Container: "app"}, false); !errors.Is(err, edgestream.ErrUnavailable) {
		t.Errorf("Container before the runtime: %v, want ErrUnavailable", err)
	}
	if _, err := rt.Container(ctx, edgestream.ContainerRef{Namespace: "default", Pod: "db", Container: "app"}, false); !errors.Is(err, edgestream.ErrNotFound) {
		t.Errorf("Container of an unknown pod: %v, want ErrNotFound", err)
	}
	if _, err := rt.Exec(ctx, "c1", []string{"sh"}, edgestream.Streams{Stdout: true}); !errors.Is(err, edgestream.ErrUnavailable) {
		t.Errorf("Exec before the runtime: %v, want ErrUnavailable", err)
	}
	if _, err := rt.PortForward(ctx, edgestream.PodRef{Namespace: "default", Name: "web"}, nil); !errors.Is(err, edgestream.ErrUnavailable) {
		t.Errorf("PortForward before the runtime: %v, want ErrUnavailable", err)
	}
	if rt.Running(ctx, "c1") {
		t.Error("Running before the runtime = true")
	}
}
