package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/tests/testenv"
)

func TestContainerd(t *testing.T) {
	t.Parallel()
	for _, version := range []string{testenv.Containerd24, testenv.Containerd16} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{Version: version})
			rt, _ := ctd.CRI(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			v, err := rt.Version(ctx, &runtimeapi.VersionRequest{})
			if err != nil {
				t.Fatalf("CRI Version: %v", err)
			}
			if !strings.HasPrefix(strings.TrimPrefix(v.RuntimeVersion, "v"), version+".") {
				t.Errorf("runtime version %s, want %s.x", v.RuntimeVersion, version)
			}
			t.Run("hostNetwork", func(t *testing.T) { runHello(ctx, t, rt, runtimeapi.NamespaceMode_NODE) })
			t.Run("podNetwork", func(t *testing.T) { runHello(ctx, t, rt, runtimeapi.NamespaceMode_POD) })
		})
	}
}

// runHello runs a pod whose busybox container prints hello and exits 0, and
// checks its exit code, its log and, on the pod network, the pod's IP.
func runHello(ctx context.Context, t *testing.T, rt runtimeapi.RuntimeServiceClient, network runtimeapi.NamespaceMode) {
	logDir := t.TempDir()
	name := "hello-" + strings.ToLower(network.String())
	sbConfig := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: name + "-uid"},
		LogDirectory: logDir,
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: network},
		}},
	}
	if network == runtimeapi.NamespaceMode_POD {
		sbConfig.Hostname = name // a host-network pod has the host's name
	}
	start := time.Now()
	sb, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sbConfig})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	t.Logf("sandbox ready in %v", time.Since(start).Round(time.Millisecond))
	if network == runtimeapi.NamespaceMode_POD {
		checkPodIP(ctx, t, rt, sb.PodSandboxId)
	}

	created, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: sb.PodSandboxId,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "hello"},
			Image:    &runtimeapi.ImageSpec{Image: testenv.BusyboxImage},
			Command:  []string{"sh", "-c", "echo hello; exit 0"},
			LogPath:  "hello.log",
		},
		SandboxConfig: sbConfig,
	})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: created.ContainerId}); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	var status *runtimeapi.ContainerStatus
	testenv.WaitFor(t, 30*time.Second, "container to exit", func() error {
		resp, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: created.ContainerId})
		if err != nil {
			return err
		}
		status = resp.GetStatus()
		if status.GetState() != runtimeapi.ContainerState_CONTAINER_EXITED {
			return fmt.Errorf("state %s", status.GetState())
		}
		return nil
	})
	t.Logf("container ran and exited %v after RunPodSandbox", time.Since(start).Round(time.Millisecond))
	if status.ExitCode != 0 {
		t.Errorf("exit code %d (%s: %s), want 0", status.ExitCode, status.Reason, status.Message)
	}
	log, err := os.ReadFile(filepath.Join(logDir, "hello.log"))
	if err != nil {
		t.Fatalf("container log: %v", err)
	}
	if !strings.Contains(string(log), " stdout F hello\n") {
		t.Errorf("container log %q has no line \"hello\" on stdout", log)
	}
}

func checkPodIP(ctx context.Context, t *testing.T, rt runtimeapi.RuntimeServiceClient, id string) {
	t.Helper()
	resp, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		t.Fatalf("PodSandboxStatus: %v", err)
	}
	ip := resp.GetStatus().GetNetwork().GetIp()
	_, subnet, _ := net.ParseCIDR(testenv.PodSubnet)
	if !subnet.Contains(net.ParseIP(ip)) {
		t.Errorf("pod IP %q, want one in %s", ip, testenv.PodSubnet)
	}
}
