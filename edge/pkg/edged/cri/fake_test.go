package cri

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fakeRuntime is a CRI runtime service that answers Version and, when
// events is set, streams GetContainerEvents from it; every other call is
// Unimplemented, as an old runtime answers.
type fakeRuntime struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	apiVersion string
	events     chan *runtimeapi.ContainerEventResponse // nil: no event stream
}

func (f *fakeRuntime) Version(context.Context, *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{RuntimeName: "fake", RuntimeVersion: "0.1", RuntimeApiVersion: f.apiVersion}, nil
}

func (f *fakeRuntime) GetContainerEvents(_ *runtimeapi.GetEventsRequest, s grpc.ServerStreamingServer[runtimeapi.ContainerEventResponse]) error {
	if f.events == nil {
		return f.UnimplementedRuntimeServiceServer.GetContainerEvents(nil, s)
	}
	for {
		select {
		case ev, ok := <-f.events:
			if !ok {
				return nil // the runtime drops the stream
			}
			if err := s.Send(ev); err != nil {
				return err
			}
		case <-s.Context().Done():
			return s.Context().Err()
		}
	}
}

// serveFake serves f on a new unix socket and returns its path; the server
// stops at cleanup.
func serveFake(t *testing.T, f *fakeRuntime) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cri") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "fake.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(srv, f)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return sock
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func dialFake(t *testing.T, f *fakeRuntime) *Client {
	t.Helper()
	c, err := Dial(t.Context(), Options{RuntimeEndpoint: "unix://" + serveFake(t, f), Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
