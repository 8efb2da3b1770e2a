package edgedbench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/tests/testenv"
)

// runtimeFigures is what containerd 2.4 takes for the pod figures'
// workloads with no Edged: the same host-network busybox pods driven
// straight through CRI with the fewest calls. It is the floor under
// Edged's figures on the machine at hand.
type runtimeFigures struct {
	starts        []time.Duration // RunPodSandbox to StartContainer returned, one pod after another
	batch, delete time.Duration   // 30 at once
	exits         []time.Duration // FinishedAt to the CONTAINER_STOPPED event
}

// rawRuntime drives one containerd through CRI.
type rawRuntime struct {
	b      *testing.B
	rt     runtimeapi.RuntimeServiceClient
	events chan *runtimeapi.ContainerEventResponse
}

// measureRuntime measures the runtime's own figures on a containerd 2.4
// of its own.
func measureRuntime(b *testing.B) runtimeFigures {
	ctd := testenv.StartContainerd(b, testenv.ContainerdOptions{Version: testenv.Containerd24})
	rt, _ := ctd.CRI(b)
	r := &rawRuntime{b: b, rt: rt, events: containerEvents(b, rt)}
	logLoad(b, "start")
	defer logLoad(b, "end")
	var m runtimeFigures
	r.startPod("warmup", "sleep", "3600")

	seq := make([]string, seqPods)
	for i := range seq {
		t0 := time.Now()
		seq[i] = r.startPod(fmt.Sprintf("seq-%d", i), "sleep", "3600")
		m.starts = append(m.starts, time.Since(t0))
	}
	b.Logf("runtime alone: %d pods one after another: p50 %v, p99 %v", seqPods,
		percentile(m.starts, 50).Round(time.Millisecond), percentile(m.starts, 99).Round(time.Millisecond))
	m.delete = r.removeAll(seq)
	b.Logf("runtime alone: %d running pods stopped and removed at once in %v", seqPods, m.delete.Round(time.Millisecond))

	t0 := time.Now()
	batch := r.startAll(batchPods)
	m.batch = time.Since(t0)
	b.Logf("runtime alone: %d pods started at once in %v", batchPods, m.batch.Round(time.Millisecond))
	r.removeAll(batch)

	for i := range exitSamples {
		id := r.startContainer(fmt.Sprintf("exit-%d", i), "sh", "-c", "sleep "+exitAfter+"; exit 3")
		m.exits = append(m.exits, r.exitEvent(id))
	}
	b.Logf("runtime alone: exit to CRI event p50 %v, all %v", percentile(m.exits, 50).Round(time.Millisecond), rounded(m.exits))
	return m
}

// containerEvents opens the runtime's CRI event stream, closed at cleanup.
func containerEvents(b *testing.B, rt runtimeapi.RuntimeServiceClient) chan *runtimeapi.ContainerEventResponse {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	stream, err := rt.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		b.Fatalf("CRI event stream: %v", err)
	}
	events := make(chan *runtimeapi.ContainerEventResponse, 1024)
	go func() {
		defer close(events)
		for {
			e, err := stream.Recv()
			if err != nil {
				return
			}
			events <- e
		}
	}()
	return events
}

// sandboxConfig is a host-network pod named name.
func sandboxConfig(name string) *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: "raw-" + name},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
}

// run starts a pod named name running command in busybox and returns its
// sandbox and container ids.
func (r *rawRuntime) run(name string, command ...string) (sandbox, container string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cfg := sandboxConfig(name)
	sb, err := r.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return "", "", fmt.Errorf("pod %s: RunPodSandbox: %w", name, err)
	}
	c, err := r.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: sb.PodSandboxId, SandboxConfig: cfg,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "main"},
			Image:    &runtimeapi.ImageSpec{Image: testenv.BusyboxImage},
			Command:  command,
		},
	})
	if err != nil {
		return "", "", fmt.Errorf("pod %s: CreateContainer: %w", name, err)
	}
	if _, err := r.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.ContainerId}); err != nil {
		return "", "", fmt.Errorf("pod %s: StartContainer: %w", name, err)
	}
	return sb.PodSandboxId, c.ContainerId, nil
}

// startPod runs a pod and returns its sandbox id.
func (r *rawRuntime) startPod(name string, command ...string) string {
	r.b.Helper()
	sb, _, err := r.run(name, command...)
	if err != nil {
		r.b.Fatal(err)
	}
	return sb
}

// startContainer runs a pod and returns its container id.
func (r *rawRuntime) startContainer(name string, command ...string) string {
	r.b.Helper()
	_, c, err := r.run(name, command...)
	if err != nil {
		r.b.Fatal(err)
	}
	return c
}

// startAll starts n sleeper pods at once and returns their sandbox ids.
func (r *rawRuntime) startAll(n int) []string {
	r.b.Helper()
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i], _, errs[i] = r.run(fmt.Sprintf("batch-%d", i), "sleep", "3600") })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		r.b.Fatal(err)
	}
	return ids
}

// removeAll stops and removes the sandboxes (and with them their
// containers, killed at once) all at once, and returns how long it took.
func (r *rawRuntime) removeAll(sandboxes []string) time.Duration {
	r.b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	errs := make([]error, len(sandboxes))
	var wg sync.WaitGroup
	t0 := time.Now()
	for i, id := range sandboxes {
		wg.Go(func() {
			if _, err := r.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
				errs[i] = fmt.Errorf("StopPodSandbox %s: %w", id, err)
				return
			}
			if _, err := r.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
				errs[i] = fmt.Errorf("RemovePodSandbox %s: %w", id, err)
			}
		})
	}
	wg.Wait()
	took := time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		r.b.Fatal(err)
	}
	return took
}

// exitEvent waits for the runtime's CONTAINER_STOPPED event of container
// id and returns how long after the container's exit it arrived.
func (r *rawRuntime) exitEvent(id string) time.Duration {
	r.b.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case e, ok := <-r.events:
			if !ok {
				r.b.Fatal("CRI event stream ended")
			}
			if e.GetContainerId() != id || e.GetContainerEventType() != runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT {
				continue
			}
			seen := time.Now()
			return seen.Sub(r.finishedAt(id))
		case <-deadline:
			r.b.Fatalf("no exit event for container %s in %v", id, waitTimeout)
		}
	}
}

// finishedAt is when the runtime saw container id exit.
func (r *rawRuntime) finishedAt(id string) time.Time {
	r.b.Helper()
	at, err := criFinishedAt(r.rt, id)
	if err != nil {
		r.b.Fatal(err)
	}
	return at
}
