package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
	"github.com/tether-edge/tether/edge/pkg/edgestream"
	"github.com/tether-edge/tether/tests/testenv"
)

const streamStepTimeout = 30 * time.Second

// TestEdgeStream serves EdgeStream's handler over a runtime of real
// containerd containers (2.4 and Debian's 1.6) and drives it with
// client-go's SPDY remotecommand, as kube-apiserver's requests would: exec
// echo, exec cat with stdin, attach with stdin, and container logs. It
// proves the upgrade proxy to containerd's streaming server.
func TestEdgeStream(t *testing.T) {
	t.Parallel()
	for _, version := range []string{testenv.Containerd24, testenv.Containerd16} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{Version: version})
			c := dialCRI(t, ctd)
			rt := runStreamPod(t, c)
			h, err := edgestream.NewHandler(edgestream.HandlerOptions{Runtime: rt, Logger: criLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()

			t.Run("execEcho", func(t *testing.T) { testStreamExecEcho(t, srv.URL) })
			t.Run("execStdin", func(t *testing.T) { testStreamExecStdin(t, srv.URL) })
			t.Run("attachStdin", func(t *testing.T) { testStreamAttach(t, srv.URL) })
			t.Run("logs", func(t *testing.T) { testStreamLogs(t, srv.URL) })
			t.Run("otherPod", func(t *testing.T) {
				resp, err := http.Get(srv.URL + "/containerLogs/default/elsewhere/app")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 404 || string(body) != "pod default/elsewhere is not on node edge-1\n" {
					t.Errorf("another node's pod = %d %q, want 404", resp.StatusCode, body)
				}
			})
		})
	}
}

// streamRuntime is a test edgestream.Runtime over the real CRI client: it
// knows the one pod runStreamPod made.
type streamRuntime struct {
	c          *cri.Client
	sandboxID  string
	containers map[string]edgestream.Container // by container name
}

func (r *streamRuntime) Container(_ context.Context, ref edgestream.ContainerRef, previous bool) (edgestream.Container, error) {
	if ref.Namespace != "default" || ref.Pod != "stream" {
		return edgestream.Container{}, edgestream.Errorf(edgestream.ErrNotFound, "pod %s/%s is not on node edge-1", ref.Namespace, ref.Pod)
	}
	ctr, ok := r.containers[ref.Container]
	if !ok {
		return edgestream.Container{}, edgestream.Errorf(edgestream.ErrNotFound, "container %q not found in pod %q", ref.Container, ref.Pod)
	}
	if previous {
		return edgestream.Container{}, edgestream.Errorf(edgestream.ErrBadRequest, "previous terminated container %q in pod %q not found", ref.Container, ref.Pod)
	}
	return ctr, nil
}

func (r *streamRuntime) Running(ctx context.Context, id string) bool {
	st, err := r.c.ContainerStatus(ctx, id)
	return err == nil && st.GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING
}

func (r *streamRuntime) Exec(ctx context.Context, id string, cmd []string, s edgestream.Streams) (*url.URL, error) {
	return r.c.Exec(ctx, id, cmd, cri.StreamOptions(s))
}

func (r *streamRuntime) Attach(ctx context.Context, id string, s edgestream.Streams) (*url.URL, error) {
	return r.c.Attach(ctx, id, cri.StreamOptions(s))
}

func (r *streamRuntime) PortForward(ctx context.Context, _ edgestream.PodRef, ports []int32) (*url.URL, error) {
	return r.c.PortForward(ctx, r.sandboxID, ports)
}

// runStreamPod runs a host-network pod default/stream with two busybox
// containers: app (echo hello, then sleep) and reader (echoes its stdin
// lines as got:<line>), and waits until both run and app has logged.
func runStreamPod(t *testing.T, c *cri.Client) *streamRuntime {
	ctx := t.Context()
	logDir := t.TempDir()
	uid := "stream-uid"
	sb := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "stream", Namespace: "default", Uid: uid},
		LogDirectory: logDir,
		Labels:       map[string]string{runstate.LabelPodUID: uid, runstate.LabelPodName: "stream", runstate.LabelPodNamespace: "default"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
	sandboxID, err := c.RunPodSandbox(ctx, sb, "")
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	rt := &streamRuntime{c: c, sandboxID: sandboxID, containers: map[string]edgestream.Container{}}
	for _, spec := range []struct {
		name, script string
		stdin        bool
	}{
		{"app", "echo hello; sleep 3600", false},
		{"reader", "while read l; do echo got:$l; done", true},
	} {
		logPath := spec.name + "/0.log"
		id, err := c.CreateContainer(ctx, sandboxID, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: spec.name},
			Image:    &runtimeapi.ImageSpec{Image: testenv.BusyboxImage},
			Command:  []string{"sh", "-c", spec.script},
			LogPath:  logPath,
			Stdin:    spec.stdin,
			Labels:   map[string]string{runstate.LabelPodUID: uid, runstate.LabelContainerName: spec.name},
		}, sb)
		if err != nil {
			t.Fatalf("CreateContainer %s: %v", spec.name, err)
		}
		if err := c.StartContainer(ctx, id); err != nil {
			t.Fatalf("StartContainer %s: %v", spec.name, err)
		}
		rt.containers[spec.name] = edgestream.Container{ID: id, LogPath: filepath.Join(logDir, logPath)}
		testenv.WaitFor(t, streamStepTimeout, spec.name+" running", func() error {
			if !rt.Running(ctx, id) {
				return fmt.Errorf("container %s not running", id)
			}
			return nil
		})
	}
	return rt
}

// stream runs a remotecommand session on path (with its query) against the
// handler at base.
func stream(ctx context.Context, base, path string, opts remotecommand.StreamOptions) error {
	u, err := url.Parse(base + path)
	if err != nil {
		return err
	}
	exec, err := remotecommand.NewSPDYExecutor(&rest.Config{Host: base}, "POST", u)
	if err != nil {
		return err
	}
	return exec.StreamWithContext(ctx, opts)
}

func testStreamExecEcho(t *testing.T, base string) {
	ctx, cancel := context.WithTimeout(t.Context(), streamStepTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := stream(ctx, base, "/exec/default/stream/app?command=echo&command=hi&output=1&error=1",
		remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
	if err != nil || stdout.String() != "hi\n" || stderr.Len() != 0 {
		t.Errorf("exec echo hi: stdout %q, stderr %q, %v; want \"hi\\n\"", stdout.String(), stderr.String(), err)
	}
	// A failing command's exit code comes back as an error.
	err = stream(ctx, base, "/exec/default/stream/app?command=sh&command=-c&command=exit+3&output=1",
		remotecommand.StreamOptions{Stdout: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "exit code 3") {
		t.Errorf("exec exit 3: %v, want an error with exit code 3", err)
	}
}

func testStreamExecStdin(t *testing.T, base string) {
	ctx, cancel := context.WithTimeout(t.Context(), streamStepTimeout)
	defer cancel()
	var stdout bytes.Buffer
	input := "line one\nline two\n"
	err := stream(ctx, base, "/exec/default/stream/uid-ignored/app?command=cat&input=1&output=1&error=1",
		remotecommand.StreamOptions{Stdin: strings.NewReader(input), Stdout: &stdout, Stderr: io.Discard})
	if err != nil || stdout.String() != input {
		t.Errorf("exec cat: stdout %q, %v; want %q", stdout.String(), err, input)
	}
}

// testStreamAttach attaches to reader with stdin and keeps stdin open
// until the answer is seen (containerd ends an attach when its stdin
// closes), then closes it, which ends the session; the container runs on.
func testStreamAttach(t *testing.T, base string) {
	ctx, cancel := context.WithTimeout(t.Context(), streamStepTimeout)
	defer cancel()
	stdin, typing := io.Pipe()
	out := &signalWriter{want: "got:ping\n", seen: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- stream(ctx, base, "/attach/default/stream/reader?input=1&output=1&error=1",
			remotecommand.StreamOptions{Stdin: stdin, Stdout: out, Stderr: io.Discard})
	}()
	go func() { _, _ = io.WriteString(typing, "ping\n") }()
	select {
	case <-out.seen:
	case err := <-done:
		t.Fatalf("attach ended before the answer: %v (stdout %q)", err, out.String())
	case <-ctx.Done():
		t.Fatalf("attach: no answer within %v (stdout %q)", streamStepTimeout, out.String())
	}
	typing.Close()
	if err := <-done; err != nil {
		t.Errorf("attach after closing stdin: %v", err)
	}
	if out.String() != "got:ping\n" {
		t.Errorf("attach stdout %q, want got:ping", out.String())
	}
}

// signalWriter closes seen once what was written contains want.
type signalWriter struct {
	want string
	seen chan struct{}

	mu  sync.Mutex
	buf bytes.Buffer // guarded by mu
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.buf.String(), w.want)
	w.buf.Write(p)
	if !had && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func testStreamLogs(t *testing.T, base string) {
	get := func(query string) (int, string) {
		resp, err := http.Get(base + "/containerLogs/default/stream/app" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	testenv.WaitFor(t, streamStepTimeout, "app's log", func() error {
		if code, body := get(""); code != 200 || body != "hello\n" {
			return fmt.Errorf("logs = %d %q, want 200 \"hello\\n\"", code, body)
		}
		return nil
	})
	stamped := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z hello\n$`)
	if code, body := get("?tailLines=1&timestamps=true"); code != 200 || !stamped.MatchString(body) {
		t.Errorf("logs tail 1 with timestamps = %d %q, want a timestamped hello", code, body)
	}
	if code, body := get("?tailLines=0"); code != 200 || body != "" {
		t.Errorf("logs tail 0 = %d %q, want nothing", code, body)
	}
	if code, body := get("?previous=true"); code != 400 || !strings.Contains(body, "previous terminated container") {
		t.Errorf("logs previous = %d %q, want 400", code, body)
	}
	// A follow that the client ends.
	ctx, cancel := context.WithTimeout(t.Context(), streamStepTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/containerLogs/default/stream/app?follow=true", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("logs follow: %v", err)
	}
	defer resp.Body.Close()
	buf := make([]byte, len("hello\n"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "hello\n" {
		t.Errorf("logs follow: %q, %v; want hello", buf, err)
	}
}
