package cri

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

func TestIsUnimplemented(t *testing.T) {
	unimpl := status.Error(codes.Unimplemented, "method GetContainerEvents not implemented")
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{unimpl, true},
		{fmt.Errorf("container events: %w", unimpl), true},
		{status.Error(codes.Unavailable, "connection refused"), false},
		{errors.New("unimplemented"), false},
	} {
		if got := IsUnimplemented(tc.err); got != tc.want {
			t.Errorf("IsUnimplemented(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if err := eventsErr(unimpl); !errors.Is(err, ErrEventsUnsupported) {
		t.Errorf("eventsErr(Unimplemented) = %v, want ErrEventsUnsupported", err)
	}
	if err := eventsErr(status.Error(codes.Unavailable, "x")); errors.Is(err, ErrEventsUnsupported) {
		t.Errorf("eventsErr(Unavailable) = %v, want not ErrEventsUnsupported", err)
	}
	if !IsNotFound(fmt.Errorf("x: %w", status.Error(codes.NotFound, "gone"))) || IsNotFound(unimpl) {
		t.Error("IsNotFound misjudges")
	}
}

func TestEventOf(t *testing.T) {
	got := eventOf(&runtimeapi.ContainerEventResponse{
		ContainerId: "c1", ContainerEventType: runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, CreatedAt: ns(time.Second),
		PodSandboxStatus: &runtimeapi.PodSandboxStatus{Id: "sb1", Labels: map[string]string{runstate.LabelPodUID: "u1"}},
	})
	want := ContainerEvent{ContainerID: "c1", Type: EventStopped, SandboxID: "sb1", PodUID: "u1", At: t0.Add(time.Second)}
	if got != want {
		t.Errorf("eventOf = %+v, want %+v", got, want)
	}
	// No sandbox status: no pod.
	got = eventOf(&runtimeapi.ContainerEventResponse{ContainerId: "c2", ContainerEventType: runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT})
	if want := (ContainerEvent{ContainerID: "c2", Type: EventDeleted}); got != want {
		t.Errorf("eventOf = %+v, want %+v", got, want)
	}
}

func TestEventsUnsupported(t *testing.T) {
	c := dialFake(t, &fakeRuntime{apiVersion: "v1"})
	start := time.Now()
	ch, wait, err := c.Events(t.Context())
	if !errors.Is(err, ErrEventsUnsupported) || ch != nil || wait != nil {
		t.Fatalf("Events on a runtime without them: %v, %v; want ErrEventsUnsupported", ch, err)
	}
	if d := time.Since(start); d >= eventsProbe {
		t.Errorf("Events took %v to find the stream unsupported, want less than the probe %v", d, eventsProbe)
	}
}

func TestEventsStream(t *testing.T) {
	f := &fakeRuntime{apiVersion: "v1", events: make(chan *runtimeapi.ContainerEventResponse)}
	c := dialFake(t, f)
	ch, wait, err := c.Events(t.Context())
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	sb := &runtimeapi.PodSandboxStatus{Id: "sb", Labels: map[string]string{runstate.LabelPodUID: "u"}}
	for i, typ := range []runtimeapi.ContainerEventType{
		runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT,
	} {
		f.events <- &runtimeapi.ContainerEventResponse{ContainerId: "c", ContainerEventType: typ, PodSandboxStatus: sb}
		ev := recvEvent(t, ch)
		if want := (ContainerEvent{ContainerID: "c", Type: EventType(i), SandboxID: "sb", PodUID: "u"}); ev != want {
			t.Errorf("event %d = %+v, want %+v", i, ev, want)
		}
	}
	// The runtime drops the stream: the channel closes, wait says why.
	close(f.events)
	if ev, ok := <-ch; ok {
		t.Fatalf("event %+v after the stream ended", ev)
	}
	if err := wait(); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("wait after the runtime ended the stream = %v, want the runtime's end", err)
	}
}

func TestEventsCancel(t *testing.T) {
	f := &fakeRuntime{apiVersion: "v1", events: make(chan *runtimeapi.ContainerEventResponse)}
	c := dialFake(t, f)
	ctx, cancel := context.WithCancel(t.Context())
	ch, wait, err := c.Events(ctx)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	cancel()
	if err := wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("wait after cancel = %v, want context.Canceled", err)
	}
	if _, ok := <-ch; ok {
		t.Error("channel open after the stream ended")
	}
}

func recvEvent(t *testing.T, ch <-chan ContainerEvent) ContainerEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("events channel closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return ContainerEvent{}
}
