package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/gc"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
	"github.com/tether-edge/tether/tests/testenv"
)

// gcPod is the pod TestGC runs: one sandbox, container app run to exit
// several times.
type gcPod struct {
	uid       types.UID
	logDir    string
	sbConfig  *runtimeapi.PodSandboxConfig
	sandboxID string
}

// TestGC runs the collector against containerd 2.4 and 1.6: a container
// run to exit four times keeps its two newest instances (and their logs)
// while the pod is live; once it is not, and its sandbox is stopped, the
// containers, the sandbox and the pod's log folder go. A forced image pass
// then removes the unused busybox image and keeps the pause image: 2.4
// reports it pinned, 1.6 does not, so there it is named in PinnedImages.
func TestGC(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		version string
		pinned  []string
	}{{testenv.Containerd24, nil}, {testenv.Containerd16, []string{testenv.PauseImage}}} {
		t.Run(c.version, func(t *testing.T) {
			t.Parallel()
			testGC(t, testenv.StartContainerd(t, testenv.ContainerdOptions{Version: c.version}), c.pinned)
		})
	}
}

func testGC(t *testing.T, ctd *testenv.Containerd, pinned []string) {
	client := dialCRI(t, ctd)
	rt, _ := ctd.CRI(t)
	logs := t.TempDir()
	p := runGCSandbox(t, rt, logs)
	for attempt := range uint32(4) {
		runToExit(t, rt, p, attempt)
	}

	live := true
	c, err := gc.New(gc.Options{
		Runtime: client, Logger: criLogger(t), PodLogsDir: logs, PinnedImages: pinned,
		Containers: config.ContainerGC{MaxPerContainer: 2},
		Images:     config.ImageGC{HighThresholdPercent: 1, LowThresholdPercent: 0},
		Live:       func(uid types.UID) bool { return live && uid == p.uid },
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.CollectContainers(t.Context())
	if err != nil || r != (gc.Removed{Containers: 2}) {
		t.Fatalf("live pass: %+v, %v; want 2 containers removed", r, err)
	}
	if got := gcAttempts(t, client, p.uid); !slices.Equal(got, []uint32{3, 2}) {
		t.Errorf("attempts left %v, want [3 2]", got)
	}
	if got := logFiles(t, p.logDir); !slices.Equal(got, []string{"app/2.log", "app/3.log"}) {
		t.Errorf("log files left %v, want app/2.log and app/3.log", got)
	}
	// The exited containers still use busybox: an image pass keeps it.
	if freed, err := c.CollectImages(t.Context()); err != nil || freed != 0 {
		t.Errorf("image pass with busybox in use: freed %d, %v; want nothing", freed, err)
	}

	live = false
	if err := client.StopPodSandbox(t.Context(), p.sandboxID); err != nil {
		t.Fatal(err)
	}
	// containerd 2.4 can answer StopPodSandbox before its list shows the
	// sandbox not ready (it records that on the sandbox's exit event); a
	// pass in between rightly keeps the sandbox for the next one.
	testenv.WaitFor(t, criStepTimeout, "the runtime to list the sandbox not ready", func() error {
		st, err := client.PodSandboxStatus(t.Context(), p.sandboxID)
		if err != nil {
			return err
		}
		if st.GetState() != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
			return fmt.Errorf("sandbox state %v", st.GetState())
		}
		return nil
	})
	r, err = c.CollectContainers(t.Context())
	if err != nil || r != (gc.Removed{Containers: 2, Sandboxes: 1, LogDirs: 1}) {
		t.Errorf("pass after the pod went: %+v, %v; want 2 containers, the sandbox and the log folder removed", r, err)
	}
	if snap, err := client.List(t.Context()); err != nil || snap.Pods[p.uid] != nil {
		t.Errorf("List after the pass: pod %+v, %v; want it gone", snap.Pods[p.uid], err)
	}
	if _, err := os.Stat(p.logDir); !os.IsNotExist(err) {
		t.Errorf("pod log folder: %v, want it removed", err)
	}
	checkImageGC(t, c, client, pinned == nil)
}

// checkImageGC runs a forced image pass (high 1%, low 0%, no min age) with
// no container left: busybox goes, the pause image stays. runtimePins: the
// runtime reports the pause image pinned (pinned_images in containerd 2.x).
func checkImageGC(t *testing.T, c *gc.Collector, client *cri.Client, runtimePins bool) {
	t.Helper()
	pause := gcImage(t, client, testenv.PauseImage)
	if pause == nil || pause.Pinned != runtimePins {
		t.Fatalf("pause image %+v, want it listed with pinned %v", pause, runtimePins)
	}
	busybox := gcImage(t, client, testenv.BusyboxImage)
	if busybox == nil || busybox.Pinned {
		t.Fatalf("busybox image %+v, want it listed, not pinned", busybox)
	}
	freed, err := c.CollectImages(t.Context())
	if err != nil || freed != busybox.Size {
		t.Errorf("forced image pass: freed %d, %v; want busybox's %d", freed, err, busybox.Size)
	}
	if gcImage(t, client, testenv.BusyboxImage) != nil {
		t.Errorf("busybox still listed after the image pass")
	}
	if gcImage(t, client, testenv.PauseImage) == nil {
		t.Errorf("the pinned pause image was removed")
	}
}

// gcImage returns the listed image tagged ref, or nil.
func gcImage(t *testing.T, client *cri.Client, ref string) *runtimeapi.Image {
	t.Helper()
	images, err := client.ListImages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		if slices.Contains(img.RepoTags, ref) {
			return img
		}
	}
	return nil
}

// runGCSandbox runs a host-network sandbox whose logs go to
// <logs>/default_gc-pod_<uid>.
func runGCSandbox(t *testing.T, rt runtimeapi.RuntimeServiceClient, logs string) gcPod {
	t.Helper()
	p := gcPod{uid: "gc-pod-uid"}
	p.logDir = filepath.Join(logs, "default_gc-pod_"+string(p.uid))
	p.sbConfig = &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "gc-pod", Namespace: "default", Uid: string(p.uid)},
		LogDirectory: p.logDir,
		Labels: map[string]string{
			runstate.LabelPodUID: string(p.uid), runstate.LabelPodName: "gc-pod", runstate.LabelPodNamespace: "default",
		},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
	resp, err := rt.RunPodSandbox(t.Context(), &runtimeapi.RunPodSandboxRequest{Config: p.sbConfig})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	p.sandboxID = resp.PodSandboxId
	return p
}

// runToExit runs attempt of container app (`true`) and waits until it
// has exited.
func runToExit(t *testing.T, rt runtimeapi.RuntimeServiceClient, p gcPod, attempt uint32) {
	t.Helper()
	ctx := t.Context()
	created, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: p.sandboxID, SandboxConfig: p.sbConfig,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app", Attempt: attempt},
			Image:    &runtimeapi.ImageSpec{Image: testenv.BusyboxImage},
			Command:  []string{"true"},
			LogPath:  fmt.Sprintf("app/%d.log", attempt),
			Labels:   map[string]string{runstate.LabelPodUID: string(p.uid), runstate.LabelContainerName: "app"},
		},
	})
	if err != nil {
		t.Fatalf("CreateContainer attempt %d: %v", attempt, err)
	}
	id := created.ContainerId
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatalf("StartContainer attempt %d: %v", attempt, err)
	}
	testenv.WaitFor(t, criStepTimeout, fmt.Sprintf("attempt %d to exit", attempt), func() error {
		st, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			return err
		}
		if s := st.GetStatus().GetState(); s != runtimeapi.ContainerState_CONTAINER_EXITED {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
}

// gcAttempts lists the attempts of the pod's containers, newest first.
func gcAttempts(t *testing.T, client *cri.Client, uid types.UID) []uint32 {
	t.Helper()
	snap, err := client.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []uint32
	for _, c := range snap.Pods[uid].Containers {
		out = append(out, c.Attempt)
	}
	return out
}

// logFiles lists the files under dir, relative and sorted.
func logFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		out = append(out, rel)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
