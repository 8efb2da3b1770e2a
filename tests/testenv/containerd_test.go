package testenv

import (
	"context"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestContainerdSweep kills the daemon while a container runs, so the
// orderly CRI cleanup cannot work, and checks that the sweep still leaves no
// shim, container process, mount or cgroup behind.
func TestContainerdSweep(t *testing.T) {
	var leftovers []int
	var l containerdLayout
	var ids map[string]bool
	t.Run("leak", func(t *testing.T) {
		c := StartContainerd(t, ContainerdOptions{})
		l = containerdLayout{root: c.Root, state: c.State, socket: c.Endpoint}
		rt, _ := c.CRI(t)
		runSleeper(t, rt)
		procs := Procs()
		for _, shim := range shimsOf(procs, c.Endpoint) {
			leftovers = append(leftovers, shim)
			leftovers = append(leftovers, descendants(procs, shim)...)
		}
		if len(leftovers) < 2 || len(mountsUnder(c.State)) == 0 {
			t.Fatalf("want a running shim with children and mounts, got pids %v", leftovers)
		}
		ids = taskIDs(c.State)
		if err := c.Process.Stop(); err != nil {
			t.Fatal(err)
		}
	})
	for _, pid := range leftovers {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("process %d still running after cleanup", pid)
		}
	}
	if m := mountsUnder(l.root, l.state); len(m) > 0 {
		t.Errorf("still mounted after cleanup: %v", m)
	}
	if cg := cgroupsOf(ids); len(cg) > 0 {
		t.Errorf("cgroups left after cleanup: %v", cg)
	}
}

func runSleeper(t *testing.T, rt runtimeapi.RuntimeServiceClient) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sbConfig := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "sleeper", Namespace: "default", Uid: "sleeper"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_POD},
		}},
	}
	sb, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sbConfig})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	ctr, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId:  sb.PodSandboxId,
		SandboxConfig: sbConfig,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "sleep"},
			Image:    &runtimeapi.ImageSpec{Image: BusyboxImage},
			Command:  []string{"sleep", "1000"},
		},
	})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr.ContainerId}); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
}
