package edgedbench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
	"github.com/tether-edge/tether/tests/edgedtest"
	"github.com/tether-edge/tether/tests/testenv"
)

// podFigures is what measurePods measures on containerd 2.4.
type podFigures struct {
	starts        []time.Duration // one per pod started one after another
	batch, delete time.Duration
	exits         []time.Duration // exit to status, runtime events
}

// bench is a running Edged (edgedtest's harness) and its containerd.
type bench struct {
	b   *testing.B
	ctd *testenv.Containerd
	h   *edgedtest.Harness
	rt  runtimeapi.RuntimeServiceClient
}

// logDirEnv names a folder that keeps Edged's logs, at Debug level, for
// profiling: which step a figure spends its time in.
const logDirEnv = "EDGEDBENCH_LOG_DIR"

// startBench starts containerd version and Edged on it, logging at Info
// (as edgecore does by default) into the harness's folder, or at Debug
// into $EDGEDBENCH_LOG_DIR/edged-<version>.log when that is set.
func startBench(b *testing.B, version string) *bench {
	ctd := testenv.StartContainerd(b, testenv.ContainerdOptions{Version: version})
	dir := b.TempDir()
	path, level := filepath.Join(dir, "edged.log"), slog.LevelInfo
	if keep := os.Getenv(logDirEnv); keep != "" {
		path, level = filepath.Join(keep, "edged-"+version+".log"), slog.LevelDebug
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	log := slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: level}))
	h := edgedtest.Start(b, edgedtest.Options{Containerd: ctd, Dir: dir, Logger: log})
	h.Apply(b, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: edgedtest.NodeName, UID: "bench-node"}})
	rt, _ := ctd.CRI(b)
	return &bench{b: b, ctd: ctd, h: h, rt: rt}
}

// measurePods measures pod start, batch start, deletion and exit to
// status (runtime events) on one Edged over containerd 2.4.
func measurePods(b *testing.B) podFigures {
	e := startBench(b, testenv.Containerd24)
	logLoad(b, "start")
	defer logLoad(b, "end")
	var m podFigures
	warm := e.startOne("warmup")
	b.Logf("warm-up pod: running after %v (not counted)", warm.Round(time.Millisecond))

	seq := make([]*corev1.Pod, seqPods)
	for i := range seq {
		seq[i] = sleeper(fmt.Sprintf("seq-%d", i))
		m.starts = append(m.starts, e.start(seq[i]))
	}
	b.Logf("pod start, %d pods one after another: p50 %v, p99 %v, all %v", seqPods,
		percentile(m.starts, 50).Round(time.Millisecond), percentile(m.starts, 99).Round(time.Millisecond), rounded(m.starts))

	m.delete = e.deleteAll(seq)
	b.Logf("delete %d running pods, grace 0: all sandboxes and containers gone after %v", seqPods, m.delete.Round(time.Millisecond))

	batch := make([]*corev1.Pod, batchPods)
	for i := range batch {
		batch[i] = sleeper(fmt.Sprintf("batch-%d", i))
	}
	m.batch = e.startAll(batch)
	b.Logf("batch of %d pods: all running after %v", batchPods, m.batch.Round(time.Millisecond))
	took := e.deleteAll(batch)
	b.Logf("delete the batch: %v (not a figure)", took.Round(time.Millisecond))

	m.exits = e.exits("events")
	return m
}

// measureExitRelist measures exit to status on containerd 1.6, which has
// no CRI event stream, so PLEG relists every second.
func measureExitRelist(b *testing.B) float64 {
	e := startBench(b, testenv.Containerd16)
	logLoad(b, "start")
	defer logLoad(b, "end")
	e.startOne("warmup")
	return ms(percentile(e.exits("relist"), 50))
}

// sleeper is a host-network busybox pod that sleeps, grace period 0.
func sleeper(name string) *corev1.Pod { return edgedtest.Pod(name, "sleep", "3600") }

// running is edgedtest.Running as a bool.
func running(st corev1.PodStatus) bool { return edgedtest.Running(st) == nil }

// wait waits, at most waitTimeout, until pod's newest status satisfies ok.
func (e *bench) wait(pod *corev1.Pod, ok func(corev1.PodStatus) bool) corev1.PodStatus {
	e.b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	st, err := e.h.Hub.WaitFor(ctx, pod.Namespace, pod.Name, ok)
	if err != nil {
		e.b.Fatal(err)
	}
	return st
}

// start hands pod over and returns how long until its status shows every
// container running.
func (e *bench) start(pod *corev1.Pod) time.Duration {
	t0 := time.Now()
	e.h.Apply(e.b, pod)
	e.wait(pod, running)
	return time.Since(t0)
}

// startOne starts a sleeper named name.
func (e *bench) startOne(name string) time.Duration { return e.start(sleeper(name)) }

// startAll hands every pod over, then returns how long until all of them
// show every container running.
func (e *bench) startAll(pods []*corev1.Pod) time.Duration {
	t0 := time.Now()
	for _, p := range pods {
		e.h.Apply(e.b, p)
	}
	e.b.Logf("%d pods handed over in %v", len(pods), time.Since(t0).Round(time.Millisecond))
	for _, p := range pods {
		e.wait(p, running)
	}
	return time.Since(t0)
}

// deleteAll deletes every pod with grace period 0 and returns how long
// until the runtime holds none of their sandboxes and containers.
func (e *bench) deleteAll(pods []*corev1.Pod) time.Duration {
	uids := make(map[string]bool, len(pods))
	for _, p := range pods {
		uids[string(p.UID)] = true
	}
	t0 := time.Now()
	for _, p := range pods {
		e.h.DeletePod(e.b, p, 0)
	}
	e.pollRuntime("pods deleted", func() error {
		if n := e.criObjects(uids); n > 0 {
			return fmt.Errorf("%d sandboxes and containers left", n)
		}
		return nil
	})
	return time.Since(t0)
}

// pollRuntime polls the runtime every 10 ms until cond holds; containerd
// has no event for "gone", so polling is the measure. It fails after
// waitTimeout.
func (e *bench) pollRuntime(what string, cond func() error) {
	e.b.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-deadline:
			e.b.Fatalf("wait for %s: %v", what, err)
		case <-tick.C:
		}
	}
}

// criObjects counts the sandboxes and containers of the pods in uids.
func (e *bench) criObjects(uids map[string]bool) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sbs, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		e.b.Fatal(err)
	}
	ctrs, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		e.b.Fatal(err)
	}
	n := 0
	for _, sb := range sbs.GetItems() {
		if uids[sb.GetLabels()[runstate.LabelPodUID]] {
			n++
		}
	}
	for _, c := range ctrs.GetContainers() {
		if uids[c.GetLabels()[runstate.LabelPodUID]] {
			n++
		}
	}
	return n
}

// exits starts exitSamples pods, one at a time, whose container exits
// after exitAfter seconds and is not restarted, and returns for each how
// long after the exit (the runtime's FinishedAt, in nanoseconds) the
// hub received a status showing it terminated.
func (e *bench) exits(mode string) []time.Duration {
	var ds []time.Duration
	for i := range exitSamples {
		pod := edgedtest.Pod(fmt.Sprintf("exit-%d", i), "sh", "-c", "sleep "+exitAfter+"; exit 3")
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		e.h.Apply(e.b, pod)
		st := e.wait(pod, func(st corev1.PodStatus) bool {
			return len(st.ContainerStatuses) == 1 && st.ContainerStatuses[0].State.Terminated != nil
		})
		seen := time.Now()
		finished := e.finishedAt(st.ContainerStatuses[0].ContainerID)
		ds = append(ds, seen.Sub(finished))
	}
	e.b.Logf("exit to status (%s, containerd %s): p50 %v, all %v", mode, e.ctd.Version,
		percentile(ds, 50).Round(time.Millisecond), rounded(ds))
	return ds
}

// finishedAt is when the runtime saw the container exit.
func (e *bench) finishedAt(containerID string) time.Time {
	e.b.Helper()
	_, id, ok := strings.Cut(containerID, "://")
	if !ok {
		e.b.Fatalf("container ID %q: want runtime://id", containerID)
	}
	at, err := criFinishedAt(e.rt, id)
	if err != nil {
		e.b.Fatal(err)
	}
	return at
}

// criFinishedAt is when the runtime saw container id exit.
func criFinishedAt(rt runtimeapi.RuntimeServiceClient, id string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		return time.Time{}, fmt.Errorf("container %s status: %w", id, err)
	}
	at := resp.GetStatus().GetFinishedAt()
	if at == 0 {
		return time.Time{}, fmt.Errorf("container %s: no FinishedAt; state %v", id, resp.GetStatus().GetState())
	}
	return time.Unix(0, at), nil
}

// rounded is ds to the millisecond, for the log.
func rounded(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// logLoad logs the machine's load average: the figures are wall-clock
// times, and other work on the machine stretches them.
func logLoad(b *testing.B, when string) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return
	}
	fields := strings.Fields(string(data))
	if len(fields) >= 3 {
		b.Logf("load average at the %s: %s %s %s (1, 5, 15 min; %d CPUs)", when, fields[0], fields[1], fields[2], runtime.NumCPU())
	}
}
