package integration

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
	"github.com/tether-edge/tether/tests/testenv"
)

const (
	criStepTimeout  = 30 * time.Second
	criEventsWithin = 30 * time.Second
	// criUnsupportedWithin bounds how fast Events must tell that the runtime
	// has no event stream.
	criUnsupportedWithin = 5 * time.Second
)

// TestCRI runs Edged's CRI client against containerd 2.4 (container events)
// and Debian's 1.6 (none): a host-network pod with one long-running busybox
// container, listed, inspected, exec'd into, stopped and removed.
func TestCRI(t *testing.T) {
	t.Parallel()
	for _, version := range []string{testenv.Containerd24, testenv.Containerd16} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{Version: version})
			checkPauseImageProtected(t, dialCRI(t, ctd))
			testCRIPod(t, ctd)
		})
	}
	t.Run("missingSocket", func(t *testing.T) {
		t.Parallel()
		sock := filepath.Join(t.TempDir(), "none.sock")
		_, err := cri.Dial(t.Context(), cri.Options{RuntimeEndpoint: "unix://" + sock, Logger: criLogger(t)})
		if err == nil || !strings.Contains(err.Error(), sock) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Dial to a missing socket: %v, want an error naming %s", err, sock)
		}
	})
}

func criLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

// dialCRI dials Edged's CRI client to ctd; it is closed at cleanup.
func dialCRI(t *testing.T, ctd *testenv.Containerd) *cri.Client {
	t.Helper()
	c, err := cri.Dial(t.Context(), cri.Options{RuntimeEndpoint: "unix://" + ctd.Endpoint, Timeout: criStepTimeout, Logger: criLogger(t)})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// criPod is the pod testCRIPod runs.
type criPod struct {
	uid       types.UID
	sbConfig  *runtimeapi.PodSandboxConfig
	sandboxID string
	ctrID     string
}

func testCRIPod(t *testing.T, ctd *testenv.Containerd) {
	start := time.Now()
	ctx := t.Context()
	c := dialCRI(t, ctd) // closed after the event stream's cleanup
	t.Logf("runtime %s %s", c.RuntimeName(), c.RuntimeVersion())
	if c.RuntimeName() != "containerd" || !strings.HasPrefix(strings.TrimPrefix(c.RuntimeVersion(), "v"), ctd.Version+".") {
		t.Errorf("runtime %s %s, want containerd %s.x", c.RuntimeName(), c.RuntimeVersion(), ctd.Version)
	}
	events := openEvents(t, c, ctd.Version)

	p := runCRIPod(t, c)
	snap := waitPodState(t, c, p, runstate.ContainerRunning)
	pod := snap.Pods[p.uid]
	if pod.Namespace != "default" || pod.Name != "cri-web" {
		t.Errorf("pod %s/%s, want default/cri-web", pod.Namespace, pod.Name)
	}
	if err := c.Inspect(ctx, pod); err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if ctr := pod.Containers[0]; !ctr.Inspected || ctr.StartedAt.IsZero() || !ctr.FinishedAt.IsZero() {
		t.Errorf("running container detail %+v, want inspected, started, not finished", ctr.Detail)
	}

	stdout, stderr, code, err := c.ExecSync(ctx, p.ctrID, []string{"echo", "hi"}, 10*time.Second)
	if err != nil || string(stdout) != "hi\n" || code != 0 {
		t.Errorf("ExecSync echo hi = %q, %q, %d, %v; want \"hi\\n\", exit 0", stdout, stderr, code, err)
	}

	if err := c.ReopenContainerLog(ctx, p.ctrID); err != nil {
		t.Errorf("ReopenContainerLog: %v", err)
	}
	checkCRIImages(t, c)

	if err := c.StopContainer(ctx, p.ctrID, 0); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	pod = waitPodState(t, c, p, runstate.ContainerExited).Pods[p.uid]
	if err := c.Inspect(ctx, pod); err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if d := pod.Containers[0].Detail; !d.Inspected || d.ExitCode != 137 || !d.FinishedAt.After(d.StartedAt) {
		t.Errorf("stopped container detail %+v, want exit code 137 (killed) and finished after started", d)
	}
	if events != nil {
		waitEvents(t, events, p, cri.EventCreated, cri.EventStarted, cri.EventStopped)
	}
	removeCRIPod(t, c, p)
	if events != nil {
		waitEvents(t, events, p, cri.EventDeleted)
	}
	t.Logf("containerd %s: pod run, inspected, stopped and removed in %v", ctd.Version, time.Since(start).Round(time.Millisecond))
}

// checkCRIImages checks the image calls against the imported test images.
func checkCRIImages(t *testing.T, c *cri.Client) {
	ctx := t.Context()
	present, size, err := c.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: testenv.BusyboxImage})
	if err != nil || !present || size == 0 {
		t.Errorf("ImageStatus(%s) = %v, %d, %v; want present with a size", testenv.BusyboxImage, present, size, err)
	}
	present, _, err = c.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: "tether.local/absent:none"})
	if err != nil || present {
		t.Errorf("ImageStatus(absent) = %v, %v; want not present, no error", present, err)
	}
	images, err := c.ListImages(ctx)
	if err != nil || len(images) < 2 {
		t.Errorf("ListImages = %d images, %v; want the two test images", len(images), err)
	}
	fs, err := c.ImageFsInfo(ctx)
	if err != nil || len(fs.GetImageFilesystems()) == 0 {
		t.Errorf("ImageFsInfo = %v, %v; want an image filesystem", fs, err)
	}
}

// openEvents opens the event stream: it must work on 2.4 and report
// ErrEventsUnsupported quickly on 1.6 (then it returns nil).
func openEvents(t *testing.T, c *cri.Client, version string) <-chan cri.ContainerEvent {
	ctx, cancel := context.WithCancel(t.Context())
	start := time.Now()
	events, wait, err := c.Events(ctx)
	took := time.Since(start)
	if version == testenv.Containerd16 {
		cancel()
		if !errors.Is(err, cri.ErrEventsUnsupported) {
			t.Fatalf("Events on containerd 1.6: %v, want ErrEventsUnsupported", err)
		}
		if took > criUnsupportedWithin {
			t.Errorf("Events took %v to report unsupported, want under %v", took, criUnsupportedWithin)
		}
		t.Logf("events unsupported, told in %v", took.Round(time.Millisecond))
		return nil
	}
	if err != nil {
		cancel()
		t.Fatalf("Events: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := wait(); !errors.Is(err, context.Canceled) {
			t.Errorf("event stream ended with %v, want context.Canceled", err)
		}
	})
	return events
}

func runCRIPod(t *testing.T, c *cri.Client) criPod {
	ctx := t.Context()
	p := criPod{uid: "cri-web-uid"}
	labels := map[string]string{
		runstate.LabelPodUID: string(p.uid), runstate.LabelPodName: "cri-web", runstate.LabelPodNamespace: "default",
	}
	p.sbConfig = &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "cri-web", Namespace: "default", Uid: string(p.uid)},
		LogDirectory: t.TempDir(),
		Labels:       labels,
		// Host network: no Hostname (the pod has the host's).
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
	var err error
	if p.sandboxID, err = c.RunPodSandbox(ctx, p.sbConfig, ""); err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	ctrLabels := map[string]string{runstate.LabelPodUID: string(p.uid), runstate.LabelContainerName: "app"}
	p.ctrID, err = c.CreateContainer(ctx, p.sandboxID, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
		Image:    &runtimeapi.ImageSpec{Image: testenv.BusyboxImage},
		Command:  []string{"sleep", "3600"},
		LogPath:  "app.log",
		Labels:   ctrLabels,
	}, p.sbConfig)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if err := c.StartContainer(ctx, p.ctrID); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	return p
}

// waitPodState waits until List shows p with its sandbox and its one
// container in state, and returns that snapshot.
func waitPodState(t *testing.T, c *cri.Client, p criPod, state runstate.ContainerState) *runstate.Snapshot {
	t.Helper()
	var snap *runstate.Snapshot
	testenv.WaitFor(t, criStepTimeout, "pod's container "+state.String()+" in List", func() error {
		var err error
		if snap, err = c.List(t.Context()); err != nil {
			return err
		}
		return checkCRIPod(snap, p, state)
	})
	return snap
}

func checkCRIPod(snap *runstate.Snapshot, p criPod, state runstate.ContainerState) error {
	pod := snap.Pods[p.uid]
	if pod == nil {
		return fmt.Errorf("pod %s not listed (%d pods)", p.uid, len(snap.Pods))
	}
	sb, ok := pod.Sandbox()
	if !ok || sb.ID != p.sandboxID || sb.State != runstate.SandboxReady || len(pod.Sandboxes) != 1 {
		return fmt.Errorf("sandboxes %+v, want %s ready", pod.Sandboxes, p.sandboxID)
	}
	ctr, ok := pod.Latest("app")
	if !ok || len(pod.Containers) != 1 || ctr.ID != p.ctrID || ctr.SandboxID != p.sandboxID {
		return fmt.Errorf("containers %+v, want %s in sandbox %s", pod.Containers, p.ctrID, p.sandboxID)
	}
	if ctr.State != state || ctr.Image == "" || ctr.ImageRef == "" || ctr.CreatedAt.IsZero() {
		return fmt.Errorf("container %+v, want %s with image and creation time", ctr, state)
	}
	return nil
}

// waitEvents waits for the container's events of the types want, in that
// order, each with the pod's UID.
func waitEvents(t *testing.T, events <-chan cri.ContainerEvent, p criPod, want ...cri.EventType) {
	t.Helper()
	deadline := time.NewTimer(criEventsWithin)
	defer deadline.Stop()
	var got []cri.EventType
	for len(got) < len(want) {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("event stream ended after %v", got)
			}
			if ev.ContainerID != p.ctrID {
				continue
			}
			if ev.PodUID != p.uid || ev.SandboxID != p.sandboxID || ev.At.IsZero() {
				t.Errorf("event %+v, want pod %s, sandbox %s and a time", ev, p.uid, p.sandboxID)
			}
			got = append(got, ev.Type)
		case <-deadline.C:
			t.Fatalf("container events within %v: %v, want %v", criEventsWithin, got, want)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("container events %v, want %v", got, want)
	}
}

func removeCRIPod(t *testing.T, c *cri.Client, p criPod) {
	ctx := t.Context()
	if err := c.RemoveContainer(ctx, p.ctrID); err != nil {
		t.Errorf("RemoveContainer: %v", err)
	}
	if err := c.StopPodSandbox(ctx, p.sandboxID); err != nil {
		t.Errorf("StopPodSandbox: %v", err)
	}
	if err := c.RemovePodSandbox(ctx, p.sandboxID); err != nil {
		t.Errorf("RemovePodSandbox: %v", err)
	}
	snap, err := c.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if pod := snap.Pods[p.uid]; pod != nil {
		t.Errorf("pod still listed after removal: %+v", pod)
	}
}

// checkPauseImageProtected checks that image GC can tell the sandbox image:
// the runtime names it (containerd 1.6) or marks it pinned (2.x).
func checkPauseImageProtected(t *testing.T, c *cri.Client) {
	t.Helper()
	img, err := c.SandboxImage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if img == testenv.PauseImage {
		return
	}
	images, err := c.ListImages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range images {
		if slices.Contains(i.GetRepoTags(), testenv.PauseImage) && i.GetPinned() {
			return
		}
	}
	t.Errorf("SandboxImage = %q and %s is not pinned: image GC could remove the sandbox image", img, testenv.PauseImage)
}
