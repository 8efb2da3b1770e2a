package edged

import (
	"encoding/json"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/beehive/beehivetest"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/daemon/metricstest"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/edged/admit"
)

// status is a pod status in phase with one container per entry of
// running, running or waiting.
func status(phase corev1.PodPhase, running ...bool) corev1.PodStatus {
	st := corev1.PodStatus{Phase: phase}
	for i, r := range running {
		cs := corev1.ContainerStatus{Name: string(rune('a' + i))}
		if r {
			cs.State.Running = &corev1.ContainerStateRunning{}
		} else {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	return st
}

// podMessage is MetaManager telling Edged about pod.
func podMessage(t *testing.T, pod *corev1.Pod) message.Message {
	t.Helper()
	body, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return message.New("metamanager", Name, message.OpInsert,
		message.Resource{Namespace: pod.Namespace, Type: kubemsg.TypePod, Name: pod.Name}, body)
}

// A pod's start is observed once, when its status first has every
// container running, timed from when Edged first saw the pod; later
// syncs and container restarts do not observe it again, and a pod found
// running (adopted after a restart) is not observed at all.
func TestPodStartObservedOnce(t *testing.T) {
	const name = "tether_edged_pod_start_duration_seconds"
	reg := prometheus.NewRegistry()
	now := time.Unix(1000, 0)
	cfg := config.DefaultEdgeCore().Edged
	cfg.Enable = true
	e, err := New(Options{
		Bus: beehivetest.New(), Logger: slog.New(slog.DiscardHandler), NodeName: "n1",
		Config: cfg, Store: "metamanager", Hub: "edgehub",
		HostIP:      func() string { return "10.0.0.1" },
		Allocatable: func() admit.Node { return admit.Node{Name: "n1"} },
		Now:         func() time.Time { return now },
		Metrics:     NewMetrics(reg),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.workers.stopAll) // handle starts workers; they wait for a runtime

	web := pod("web", "u1")
	web.Status = status(corev1.PodPending)
	e.handle(podMessage(t, web))
	now = now.Add(2 * time.Second)
	e.handle(podMessage(t, web)) // seen again: still timed from the first
	for _, st := range []corev1.PodStatus{
		status(corev1.PodPending, false, false),
		status(corev1.PodRunning, true, false), // one of two running
	} {
		now = now.Add(time.Second)
		e.status.report(e.status.withLast(web), st)
	}
	if n, _ := metricstest.Histogram(t, reg, name); n != 0 {
		t.Fatalf("%d starts observed before every container ran", n)
	}
	now = now.Add(time.Second)
	e.status.report(e.status.withLast(web), status(corev1.PodRunning, true, true))
	if n, sum := metricstest.Histogram(t, reg, name); n != 1 || math.Abs(sum-5) > 1e-9 {
		t.Fatalf("%d starts observed, %vs in all; want one of 5s", n, sum)
	}
	// Later syncs, and a container restarting and running again.
	for _, st := range []corev1.PodStatus{
		status(corev1.PodRunning, true, true),
		status(corev1.PodRunning, true, false),
		status(corev1.PodRunning, true, true),
	} {
		now = now.Add(time.Second)
		e.status.report(e.status.withLast(web), st)
	}
	if n, _ := metricstest.Histogram(t, reg, name); n != 1 {
		t.Errorf("%d starts observed after later syncs, want still 1", n)
	}

	// A pod the cloud has running already, found running: adopted.
	adopted := pod("db", "u2")
	adopted.Status = status(corev1.PodRunning, true)
	e.handle(podMessage(t, adopted))
	now = now.Add(time.Second)
	e.status.report(e.status.withLast(adopted), status(corev1.PodRunning, true))
	if n, _ := metricstest.Histogram(t, reg, name); n != 1 {
		t.Errorf("%d starts observed after adopting a running pod, want still 1", n)
	}
}

// The collectors, PLEG's among them, pass Prometheus's lint.
func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	if mfs := metricstest.Lint(t, reg); len(mfs) != 3 {
		t.Errorf("%d metric families, want pod start and PLEG's two", len(mfs))
	}
}
