package edgedbench

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/cri"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
	"github.com/tether-edge/tether/tests/testenv"
)

// measureRelist runs relistSandboxes × relistContainers sleeping
// containers on containerd 1.6 (where PLEG relists every second) through
// Edged's CRI client, then times full relists as PLEG's first one does
// them: List, then Inspect of every pod. It returns the median in ms.
func measureRelist(b *testing.B) float64 {
	ctd := testenv.StartContainerd(b, testenv.ContainerdOptions{Version: testenv.Containerd16})
	logLoad(b, "start")
	defer logLoad(b, "end")
	ctx := context.Background()
	c, err := cri.Dial(ctx, cri.Options{RuntimeEndpoint: "unix://" + ctd.Endpoint, Timeout: waitTimeout, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })

	t0 := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2) // the machine's cores
	for i := range relistSandboxes {
		g.Go(func() error { return runRelistPod(gctx, c, b.TempDir(), i) })
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	want := relistSandboxes * relistContainers
	if n := runningContainers(b, c); n != want {
		b.Fatalf("%d containers running, want %d", n, want)
	}
	b.Logf("%d sandboxes with %d containers each started in %v", relistSandboxes, relistContainers, time.Since(t0).Round(time.Millisecond))

	relistOnce(b, c) // untimed: warms the connection and containerd's caches
	var full, list []time.Duration
	for range relistRounds {
		l, f := relistOnce(b, c)
		list, full = append(list, l), append(full, f)
	}
	b.Logf("relist of %d containers: List p50 %v; List + Inspect of every pod p50 %v, all %v", want,
		percentile(list, 50).Round(10*time.Microsecond), percentile(full, 50).Round(10*time.Microsecond), rounded(full))
	return ms(percentile(full, 50))
}

// relistOnce lists the runtime and inspects every pod, and returns how
// long the List took and how long both took.
func relistOnce(b *testing.B, c *cri.Client) (list, full time.Duration) {
	ctx := context.Background()
	t0 := time.Now()
	snap, err := c.List(ctx)
	if err != nil {
		b.Fatal(err)
	}
	list = time.Since(t0)
	for _, pod := range snap.Pods {
		if err := c.Inspect(ctx, pod); err != nil {
			b.Fatal(err)
		}
	}
	full = time.Since(t0)
	if len(snap.Pods) != relistSandboxes {
		b.Fatalf("List found %d pods, want %d", len(snap.Pods), relistSandboxes)
	}
	return list, full
}

// runningContainers counts the running containers List shows.
func runningContainers(b *testing.B, c *cri.Client) int {
	snap, err := c.List(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, p := range snap.Pods {
		for _, ctr := range p.Containers {
			if ctr.State == runstate.ContainerRunning {
				n++
			}
		}
	}
	return n
}

// runRelistPod runs host-network sandbox i with relistContainers
// containers sleeping an hour, labelled as Edged labels its own.
func runRelistPod(ctx context.Context, c *cri.Client, logDir string, i int) error {
	uid, name := fmt.Sprintf("relist-uid-%d", i), fmt.Sprintf("relist-%d", i)
	sb := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: uid},
		LogDirectory: logDir,
		Labels:       map[string]string{runstate.LabelPodUID: uid, runstate.LabelPodName: name, runstate.LabelPodNamespace: "default"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
	sbID, err := c.RunPodSandbox(ctx, sb, "")
	if err != nil {
		return fmt.Errorf("sandbox %s: %w", name, err)
	}
	for j := range relistContainers {
		ctrName := fmt.Sprintf("c%d", j)
		id, err := c.CreateContainer(ctx, sbID, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: ctrName},
			Image:    &runtimeapi.ImageSpec{Image: testenv.BusyboxImage},
			Command:  []string{"sleep", "3600"},
			LogPath:  ctrName + ".log",
			Labels:   map[string]string{runstate.LabelPodUID: uid, runstate.LabelContainerName: ctrName},
		}, sb)
		if err != nil {
			return fmt.Errorf("container %s/%s: %w", name, ctrName, err)
		}
		if err := c.StartContainer(ctx, id); err != nil {
			return fmt.Errorf("start %s/%s: %w", name, ctrName, err)
		}
	}
	return nil
}
