package integration

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/podruntime"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
	"github.com/tether-edge/tether/tests/edgedtest"
	"github.com/tether-edge/tether/tests/testenv"
)

// Timeouts of the Edged scenarios: a pod's first start, and a change the
// pod worker must notice (an update, a probe, an exit).
const (
	edgedStart  = 30 * time.Second
	edgedChange = 30 * time.Second
)

// TestEdged runs Edged's scenarios against containerd 2.4 (runtime
// events), each pod its own subtest, in parallel on one Edged.
func TestEdged(t *testing.T) {
	t.Parallel()
	ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{})
	h := edgedtest.Start(t, edgedtest.Options{Containerd: ctd})
	h.Apply(t, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: edgedtest.NodeName, UID: "node-uid-1"}})

	t.Run("logs", func(t *testing.T) {
		t.Parallel()
		pod := edgedtest.Pod("logs", "sh", "-c", "echo hello-from-edged; echo oops >&2; exec sleep 3600")
		h.Apply(t, pod)
		h.WaitStatus(t, pod, edgedStart, "running", edgedtest.Running)
		waitLog(t, h, pod, "main", 0, "stdout F hello-from-edged", "stderr F oops")
	})

	t.Run("init containers run in order", func(t *testing.T) {
		t.Parallel()
		pod := edgedtest.Pod("init", "sh", "-c", "cat /work/order; exec sleep 3600")
		pod.Spec.Volumes = []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		mount := []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}
		pod.Spec.Containers[0].VolumeMounts = mount
		for _, name := range []string{"first", "second"} {
			pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{
				Name: name, Image: testenv.BusyboxImage, ImagePullPolicy: corev1.PullIfNotPresent, VolumeMounts: mount,
				Command: []string{"sh", "-c", "sleep 0.3; echo " + name + " >> /work/order"},
			})
		}
		h.Apply(t, pod)
		st := h.WaitStatus(t, pod, edgedStart, "running", edgedtest.Running)
		for _, c := range st.InitContainerStatuses {
			if term := c.State.Terminated; term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
				t.Errorf("init container %s: state %+v, want terminated Completed exit 0", c.Name, c.State)
			}
		}
		if !conditionTrue(st, corev1.PodInitialized) {
			t.Errorf("Initialized condition not True: %s", edgedtest.Describe(st))
		}
		waitLog(t, h, pod, "main", 0, "stdout F first\n", "stdout F second\n")
		if log := readLog(t, h, pod, "main", 0); strings.Index(log, "second") < strings.Index(log, "first") {
			t.Errorf("init containers ran out of order:\n%s", log)
		}
	})

	t.Run("crash-looping container restarts with growing back-off", func(t *testing.T) {
		t.Parallel()
		pod := edgedtest.Pod("crash", "sh", "-c", "echo crashing; exit 3")
		h.Apply(t, pod)
		var starts []time.Time
		st := h.WaitStatus(t, pod, 60*time.Second, "two restarts, in back-off", func(st corev1.PodStatus) error {
			c := st.ContainerStatuses[0]
			if c.RestartCount < 2 || c.State.Waiting == nil || c.State.Waiting.Reason != "CrashLoopBackOff" {
				return fmt.Errorf("restarts %d", c.RestartCount)
			}
			return nil
		})
		last := st.ContainerStatuses[0].LastTerminationState.Terminated
		if last == nil || last.ExitCode != 3 {
			t.Fatalf("last termination %+v, want exit code 3", st.ContainerStatuses[0].LastTerminationState)
		}
		// The runtime keeps every attempt: their start times show the gaps.
		for attempt := uint32(0); attempt < 3; attempt++ {
			info, err := os.Stat(logPath(h, pod, "main", attempt))
			if err != nil {
				t.Fatalf("attempt %d left no log: %v", attempt, err)
			}
			starts = append(starts, info.ModTime())
		}
		gap1, gap2 := starts[1].Sub(starts[0]), starts[2].Sub(starts[1])
		t.Logf("restart gaps: %v then %v", gap1.Round(time.Millisecond), gap2.Round(time.Millisecond))
		if gap1 < 9*time.Second || gap2 < gap1+8*time.Second {
			t.Errorf("restart gaps %v then %v; want about 10 s then 20 s (back-off doubling)", gap1, gap2)
		}
	})

	t.Run("failing liveness probe restarts the container", func(t *testing.T) {
		t.Parallel()
		pod := edgedtest.Pod("liveness", "sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 3600")
		pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}},
			PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 1, SuccessThreshold: 1,
		}
		h.Apply(t, pod)
		h.WaitStatus(t, pod, edgedStart, "running", edgedtest.Running)
		h.WaitStatus(t, pod, edgedChange+15*time.Second, "restarted by the liveness probe", func(st corev1.PodStatus) error {
			if st.ContainerStatuses[0].RestartCount < 1 {
				return fmt.Errorf("not restarted")
			}
			return nil
		})
	})

	t.Run("readiness probe flips Ready", func(t *testing.T) {
		t.Parallel()
		pod := edgedtest.Pod("readiness", "sh", "-c", "sleep 2; touch /tmp/ready; sleep 3; rm /tmp/ready; exec sleep 3600")
		pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/ready"}}},
			PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 1, SuccessThreshold: 1,
		}
		h.Apply(t, pod)
		for _, want := range []corev1.ConditionStatus{corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionFalse} {
			h.WaitStatus(t, pod, edgedChange, "Ready "+string(want), func(st corev1.PodStatus) error {
				if st.Phase != corev1.PodRunning || conditionOf(st, corev1.PodReady) != want {
					return fmt.Errorf("not yet")
				}
				return nil
			})
		}
	})

	t.Run("configMap volume updates in place", func(t *testing.T) {
		t.Parallel()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "greeting", Namespace: "default", UID: "cm-uid-1"}, Data: map[string]string{"text": "v1"}}
		h.Apply(t, cm)
		pod := edgedtest.Pod("configmap", "sh", "-c", "while true; do echo seen-$(cat /etc/cfg/text); sleep 0.3; done")
		pod.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "greeting"}}}}}
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/cfg"}}
		h.Apply(t, pod)
		first := h.WaitStatus(t, pod, edgedStart, "running", edgedtest.Running)
		waitLog(t, h, pod, "main", 0, "seen-v1")
		cm = cm.DeepCopy()
		cm.Data["text"] = "v2"
		h.Apply(t, cm)
		waitLog(t, h, pod, "main", 0, "seen-v2")
		st, _ := h.Status(pod.Namespace, pod.Name)
		if st.ContainerStatuses[0].ContainerID != first.ContainerStatuses[0].ContainerID {
			t.Errorf("container replaced on a configmap change: %s → %s", first.ContainerStatuses[0].ContainerID, st.ContainerStatuses[0].ContainerID)
		}
	})

	t.Run("secret env", func(t *testing.T) {
		t.Parallel()
		h.Apply(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "default", UID: "secret-uid-1"}, Data: map[string][]byte{"password": []byte("s3cret")}})
		pod := edgedtest.Pod("secret", "sh", "-c", "echo PASSWORD=$PASSWORD POD=$POD_NAME; exec sleep 3600")
		pod.Spec.Containers[0].Env = []corev1.EnvVar{
			{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		}
		h.Apply(t, pod)
		h.WaitStatus(t, pod, edgedStart, "running", edgedtest.Running)
		waitLog(t, h, pod, "main", 0, "PASSWORD=s3cret POD=secret")
	})

	t.Run("hostNetwork and CNI bridge pods", func(t *testing.T) {
		t.Parallel()
		host := edgedtest.Pod("hostnet", "sleep", "3600")
		h.Apply(t, host)
		st := h.WaitStatus(t, host, edgedStart, "running", edgedtest.Running)
		if st.PodIP != "127.0.0.1" {
			t.Errorf("hostNetwork pod IP %q, want the host's 127.0.0.1", st.PodIP)
		}
		bridge := edgedtest.Pod("bridged", "sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www")
		bridge.Spec.HostNetwork = false
		bridge.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
		bridge.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/index.html", Port: intstr.FromString("http")}},
			PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 1, SuccessThreshold: 1,
		}
		h.Apply(t, bridge)
		st = h.WaitStatus(t, bridge, edgedStart, "running and ready through its pod IP", edgedtest.Running)
		_, subnet, _ := net.ParseCIDR(testenv.PodSubnet)
		if ip := net.ParseIP(st.PodIP); ip == nil || !subnet.Contains(ip) {
			t.Errorf("bridge pod IP %q, want one of %s", st.PodIP, testenv.PodSubnet)
		}
	})

	t.Run("deletion honours the grace period", func(t *testing.T) {
		t.Parallel()
		// One pod stops on SIGTERM by itself; the other two ignore it: one
		// is killed when its grace period ends, the other, deleted with
		// grace period 0, at once.
		graceful := edgedtest.Pod("graceful", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done")
		stubborn := edgedtest.Pod("stubborn", "sh", "-c", "trap '' TERM; while true; do sleep 0.1; done")
		forced := edgedtest.Pod("forced", "sh", "-c", "trap '' TERM; while true; do sleep 0.1; done")
		pods := []*corev1.Pod{graceful, stubborn, forced}
		for _, p := range pods {
			h.Apply(t, p)
			h.WaitStatus(t, p, edgedStart, "running", edgedtest.Running)
		}
		const grace = 4
		start := time.Now()
		h.DeletePod(t, graceful, grace)
		h.DeletePod(t, stubborn, grace)
		h.DeletePod(t, forced, 0)
		// FinishedAt has whole seconds, so took is up to 1 s short (even
		// below 0).
		for _, c := range []struct {
			pod          *corev1.Pod
			exitCode     int32
			atLeast, max time.Duration
		}{
			{graceful, 0, -time.Second, edgedChange},
			{stubborn, 137, (grace - 1) * time.Second, edgedChange},
			{forced, 137, -time.Second, time.Second},
		} {
			st := h.WaitStatus(t, c.pod, edgedChange, "stopped", func(st corev1.PodStatus) error {
				if term := st.ContainerStatuses[0].State.Terminated; term == nil {
					return fmt.Errorf("still running")
				}
				return nil
			})
			term := st.ContainerStatuses[0].State.Terminated
			took := term.FinishedAt.Sub(start)
			t.Logf("%s: exit %d %v after the delete", c.pod.Name, term.ExitCode, took.Round(time.Millisecond))
			if term.ExitCode != c.exitCode {
				t.Errorf("%s exit code %d, want %d", c.pod.Name, term.ExitCode, c.exitCode)
			}
			if took < c.atLeast || took > c.max {
				t.Errorf("%s killed %v after the delete, want between %v and %v", c.pod.Name, took, c.atLeast, c.max)
			}
		}
		for _, p := range pods {
			testenv.WaitFor(t, edgedChange, p.Name+" removed from the cloud and the runtime", func() error {
				if h.Hub.PodGone(p) {
					if n := criObjectsOf(t, ctd, p); n > 0 {
						return fmt.Errorf("%d sandboxes and containers left", n)
					}
					return nil
				}
				return fmt.Errorf("not asked to remove it")
			})
		}
	})

	t.Run("static pod with a mirror pod", func(t *testing.T) {
		t.Parallel()
		manifest := `apiVersion: v1
kind: Pod
metadata: {name: static-web, namespace: default}
spec:
  hostNetwork: true
  containers:
  - {name: main, image: ` + testenv.BusyboxImage + `, imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}
`
		if err := os.WriteFile(filepath.Join(h.Config.StaticPodPath, "web.yaml"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		mirror := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "static-web-" + edgedtest.NodeName, Namespace: "default"}}
		h.WaitStatus(t, mirror, edgedStart, "running, reported on its mirror pod", edgedtest.Running)
		m := h.Hub.Mirror(mirror.Namespace, mirror.Name)
		if m == nil || h.Hub.StatusUID(mirror.Namespace, mirror.Name) != string(m.UID) {
			t.Errorf("status reported for uid %q; want the mirror pod's (%v)", h.Hub.StatusUID(mirror.Namespace, mirror.Name), m)
		}
	})
}

// TestEdgedRestartKeepsPods restarts Edged (a new one over the same store
// and folders, as an edgecore restart does) on Debian's containerd 1.6,
// where Edged relists: the pod is adopted as it runs, with the same
// container, and an orphan the store no longer holds is removed.
func TestEdgedRestartKeepsPods(t *testing.T) {
	t.Parallel()
	ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{Version: testenv.Containerd16})
	h := edgedtest.Start(t, edgedtest.Options{Containerd: ctd})
	keep := edgedtest.Pod("keep", "sleep", "3600")
	orphan := edgedtest.Pod("orphan", "sleep", "3600")
	for _, p := range []*corev1.Pod{keep, orphan} {
		h.Apply(t, p)
		h.WaitStatus(t, p, edgedStart, "running", edgedtest.Running)
	}
	before, _ := h.Status(keep.Namespace, keep.Name)
	h.Stop()
	// The cloud removed the orphan while edgecore was down.
	edgedtest.DeleteStored(t, h.Dir, "pod", orphan.Namespace, orphan.Name)

	restarted := time.Now()
	h = edgedtest.Start(t, edgedtest.Options{Containerd: ctd, Dir: h.Dir})
	t.Logf("Edged restarted in %v", time.Since(restarted).Round(time.Millisecond))
	testenv.WaitFor(t, edgedChange, "the orphan removed from the runtime", func() error {
		if n := criObjectsOf(t, ctd, orphan); n > 0 {
			return fmt.Errorf("%d sandboxes and containers left", n)
		}
		return nil
	})
	t.Logf("orphan removed %v after the restart", time.Since(restarted).Round(time.Millisecond))
	if n := criObjectsOf(t, ctd, keep); n != 2 {
		t.Errorf("kept pod has %d sandboxes and containers, want 2 (nothing restarted)", n)
	}
	after := h.WaitStatus(t, keep, edgedChange, "running after the restart", edgedtest.Running)
	if a, b := after.ContainerStatuses[0], before.ContainerStatuses[0]; a.ContainerID != b.ContainerID || a.RestartCount != 0 {
		t.Errorf("after the restart: container %s restarts %d; want the same %s, 0 restarts", a.ContainerID, a.RestartCount, b.ContainerID)
	}
}

// logPath is a container attempt's CRI log file.
func logPath(h *edgedtest.Harness, pod *corev1.Pod, container string, attempt uint32) string {
	return filepath.Join(podruntime.LogDir(h.PodLogsDir(), pod.Namespace, pod.Name, pod.UID), podruntime.ContainerLogPath(container, attempt))
}

func readLog(t *testing.T, h *edgedtest.Harness, pod *corev1.Pod, container string, attempt uint32) string {
	t.Helper()
	b, err := os.ReadFile(logPath(h, pod, container, attempt))
	if err != nil {
		t.Fatalf("container log: %v", err)
	}
	return string(b)
}

// waitLog waits until the container's CRI log holds every text.
func waitLog(t *testing.T, h *edgedtest.Harness, pod *corev1.Pod, container string, attempt uint32, texts ...string) {
	t.Helper()
	path := logPath(h, pod, container, attempt)
	testenv.WaitFor(t, edgedChange, fmt.Sprintf("%q in %s", texts, path), func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, text := range texts {
			if !bytes.Contains(b, []byte(text)) {
				return fmt.Errorf("%q missing; log:\n%s", text, b)
			}
		}
		return nil
	})
}

func conditionOf(st corev1.PodStatus, typ corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

func conditionTrue(st corev1.PodStatus, typ corev1.PodConditionType) bool {
	return conditionOf(st, typ) == corev1.ConditionTrue
}

// criObjectsOf counts the sandboxes and containers the runtime holds for
// pod.
func criObjectsOf(t *testing.T, ctd *testenv.Containerd, pod *corev1.Pod) int {
	t.Helper()
	rt, _ := ctd.CRI(t)
	sel := map[string]string{runstate.LabelPodUID: string(pod.UID)}
	sbs, err := rt.ListPodSandbox(t.Context(), &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: sel}})
	if err != nil {
		t.Fatal(err)
	}
	ctrs, err := rt.ListContainers(t.Context(), &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{LabelSelector: sel}})
	if err != nil {
		t.Fatal(err)
	}
	return len(sbs.GetItems()) + len(ctrs.GetContainers())
}
