package integration

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/containerspec"
	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
	"github.com/tether-edge/tether/edge/pkg/edged/volume"
	"github.com/tether-edge/tether/tests/testenv"
)

// volumeObjects serves one configmap the test changes.
type volumeObjects struct {
	// mu guards mode.
	mu   sync.Mutex
	mode string
}

func (o *volumeObjects) ConfigMap(_, name string) (*corev1.ConfigMap, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if name != "app" {
		return nil, nil
	}
	return &corev1.ConfigMap{Data: map[string]string{"mode": o.mode}}, nil
}

func (o *volumeObjects) Secret(_, _ string) (*corev1.Secret, error) { return nil, nil }

func (o *volumeObjects) set(mode string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mode = mode
}

// TestVolumes runs a busybox container on containerd with the volume
// manager's mounts: a configmap (whole and by subPath), a disk emptyDir and
// a memory one. The configmap's update reaches the running container at
// the same path, but not through the subPath; what the container writes
// is on the host; TearDown unmounts and removes it all.
func TestVolumes(t *testing.T) {
	t.Parallel()
	ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{})
	c := dialCRI(t, ctd)
	objs := &volumeObjects{mode: "fast"}
	m, err := volume.NewManager(volume.ManagerOptions{
		PodsDir: filepath.Join(t.TempDir(), "pods"), Logger: criLogger(t), Objects: objs,
	})
	if err != nil {
		t.Fatal(err)
	}
	pod := volumePod()
	vols, err := m.SetUp(pod, containerspec.Downward{})
	if err != nil {
		t.Fatalf("SetUp: %v", err)
	}
	t.Cleanup(func() { m.TearDown(pod.UID) }) //nolint:errcheck // the test checks TearDown itself
	mounts, err := vols.Mounts(pod, &pod.Spec.Containers[0])
	if err != nil {
		t.Fatalf("Mounts: %v", err)
	}
	sandboxID, ctrID := runVolumePod(t, c, pod, mounts)

	execOut(t, c, ctrID, "fast", "cat", "/etc/app/mode")
	execOut(t, c, ctrID, "fast", "cat", "/etc/mode")
	execOut(t, c, ctrID, "written", "sh", "-c", "echo -n written > /scratch/f && echo -n ram > /ram/g && cat /scratch/f")
	if got, err := os.ReadFile(filepath.Join(vols["scratch"], "f")); err != nil || string(got) != "written" {
		t.Errorf("the container's emptyDir file on the host: %q, %v", got, err)
	}
	if got, err := os.ReadFile(filepath.Join(vols["ram"], "g")); err != nil || string(got) != "ram" {
		t.Errorf("the container's memory emptyDir file on the host: %q, %v", got, err)
	}
	execOut(t, c, ctrID, "read-only", "sh", "-c", "touch /etc/app/x 2>/dev/null && echo -n writable || echo -n read-only")

	objs.set("slow")
	if _, err := m.SetUp(pod, containerspec.Downward{}); err != nil {
		t.Fatalf("SetUp after the update: %v", err)
	}
	execOut(t, c, ctrID, "slow", "cat", "/etc/app/mode")
	execOut(t, c, ctrID, "fast", "cat", "/etc/mode") // a subPath keeps its file

	ctx := t.Context()
	if err := c.RemoveContainer(ctx, ctrID); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	if err := c.StopPodSandbox(ctx, sandboxID); err != nil {
		t.Fatalf("StopPodSandbox: %v", err)
	}
	if err := c.RemovePodSandbox(ctx, sandboxID); err != nil {
		t.Fatalf("RemovePodSandbox: %v", err)
	}
	if err := m.TearDown(pod.UID); err != nil {
		t.Fatalf("TearDown: %v", err)
	}
	if pods, err := m.Pods(); err != nil || len(pods) != 0 {
		t.Fatalf("Pods after TearDown: %v, %v; want none", pods, err)
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err != nil || strings.Contains(string(mi), string(pod.UID)) {
		t.Fatalf("a mount of the pod is left (or mountinfo unreadable: %v)", err)
	}
}

func volumePod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "vol-web", Namespace: "default", UID: "vol-web-uid"},
		Spec: corev1.PodSpec{
			Volumes: []corev1.Volume{
				{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "app"}}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "ram", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
			},
			Containers: []corev1.Container{{Name: "app", VolumeMounts: []corev1.VolumeMount{
				{Name: "config", MountPath: "/etc/app"},
				{Name: "config", MountPath: "/etc/mode", SubPath: "mode"},
				{Name: "scratch", MountPath: "/scratch"},
				{Name: "ram", MountPath: "/ram"},
			}}},
		},
	}
}

// runVolumePod runs pod's sandbox (host network) and its one busybox
// container with mounts, and waits until it runs.
func runVolumePod(t *testing.T, c *cri.Client, pod *corev1.Pod, mounts []*runtimeapi.Mount) (sandboxID, ctrID string) {
	t.Helper()
	ctx := t.Context()
	uid := string(pod.UID)
	sb := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: pod.Name, Namespace: pod.Namespace, Uid: uid},
		LogDirectory: t.TempDir(),
		Labels:       map[string]string{runstate.LabelPodUID: uid, runstate.LabelPodName: pod.Name, runstate.LabelPodNamespace: pod.Namespace},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
	var err error
	if sandboxID, err = c.RunPodSandbox(ctx, sb, ""); err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	ctrID, err = c.CreateContainer(ctx, sandboxID, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
		Image:    &runtimeapi.ImageSpec{Image: testenv.BusyboxImage},
		Command:  []string{"sleep", "3600"},
		LogPath:  "app.log",
		Labels:   map[string]string{runstate.LabelPodUID: uid, runstate.LabelContainerName: "app"},
		Mounts:   mounts,
	}, sb)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if err := c.StartContainer(ctx, ctrID); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	return sandboxID, ctrID
}

// execOut runs cmd in the container and checks its output.
func execOut(t *testing.T, c *cri.Client, ctrID, want string, cmd ...string) {
	t.Helper()
	stdout, stderr, code, err := c.ExecSync(t.Context(), ctrID, cmd, 10*time.Second)
	if err != nil || code != 0 || string(stdout) != want {
		t.Errorf("%q: %q (stderr %q), exit %d, %v; want %q", cmd, stdout, stderr, code, err, want)
	}
}
