package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/tests/testenv"
)

const (
	// imageRef is build/cloudcore-image.sh's default name, the image
	// deploy/cloudcore/deployment.yaml runs.
	imageRef = "ghcr.io/tether-edge/cloudcore:v0.1.0"
	// imageUID is the image's user, the Deployment's runAsUser.
	imageUID = 65532
	// imageBuildTimeout covers a cold build cache (about 6 minutes for
	// cloudcore on 2 cores); warm, the script takes about 10 seconds.
	imageBuildTimeout = 10 * time.Minute
	imageStepTimeout  = 60 * time.Second
)

// TestCloudcoreImage builds cloudcore's image with build/cloudcore-image.sh,
// imports it into containerd 2.4 and runs `cloudcore --defaultconfig` from it
// through CRI, under the Deployment's restrictions (read-only root
// filesystem, no new privileges, no capabilities, RuntimeDefault seccomp) and
// as the image's own user: it must exit 0 having printed the config, as uid 65532.
func TestCloudcoreImage(t *testing.T) {
	t.Parallel()
	deployment, err := os.ReadFile(deployPath(t, "cloudcore", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(deployment), "image: "+imageRef+"\n") {
		t.Fatalf("deploy/cloudcore/deployment.yaml does not run %s, the script's default image", imageRef)
	}
	tarball := filepath.Join(t.TempDir(), "cloudcore.tar")
	imageBuild(t, tarball)

	ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{Version: testenv.Containerd24})
	imageImport(t, ctd, tarball)
	rt, img := ctd.CRI(t)
	ctx, cancel := context.WithTimeout(t.Context(), imageStepTimeout)
	defer cancel()
	st, err := img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: imageRef}})
	if err != nil || st.GetImage() == nil {
		t.Fatalf("ImageStatus(%s) = %v, %v; want the imported image", imageRef, st, err)
	}
	// kubelet checks runAsNonRoot against this numeric uid.
	if uid := st.GetImage().GetUid(); uid == nil || uid.Value != imageUID {
		t.Errorf("image uid %v, want %d", uid, imageUID)
	}

	logDir := t.TempDir()
	status := imageRun(ctx, t, rt, logDir)
	if status.ExitCode != 0 {
		t.Errorf("cloudcore --defaultconfig exited %d (%s: %s), want 0", status.ExitCode, status.Reason, status.Message)
	}
	if u := status.GetUser().GetLinux(); u != nil && u.Uid != imageUID {
		t.Errorf("container ran as uid %d, want %d", u.Uid, imageUID)
	} else if u == nil {
		t.Logf("containerd reports no container user; checked the image's uid only")
	}
	log, err := os.ReadFile(filepath.Join(logDir, "cloudcore.log"))
	if err != nil {
		t.Fatalf("container log: %v", err)
	}
	if !strings.Contains(string(log), " stdout F kind: CloudCore\n") {
		t.Errorf("container log has no line \"kind: CloudCore\" on stdout:\n%s", log)
	}
}

// imageBuild runs build/cloudcore-image.sh with OUT=tarball.
func imageBuild(t *testing.T, tarball string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), imageBuildTimeout)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "build", "cloudcore-image.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "OUT="+tarball, "IMAGE=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build/cloudcore-image.sh: %v\n%s", err, out)
	}
	t.Logf("image built in %v", time.Since(start).Round(time.Millisecond))
}

// imageImport imports tarball into ctd's CRI namespace with its ctr.
func imageImport(t *testing.T, ctd *testenv.Containerd, tarball string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), imageStepTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ctd.Ctr, "--address", ctd.Endpoint, "-n", testenv.CRINamespace, "images", "import", tarball)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ctr images import %s: %v\n%s", tarball, err, out)
	}
}

// imageRun runs the image's entrypoint with --defaultconfig in a host-network
// pod, logging to logDir/cloudcore.log, and returns its status once it exited.
func imageRun(ctx context.Context, t *testing.T, rt runtimeapi.RuntimeServiceClient, logDir string) *runtimeapi.ContainerStatus {
	t.Helper()
	sbConfig := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "cloudcore", Namespace: "tether-system", Uid: "cloudcore-image-uid"},
		LogDirectory: logDir,
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
	sb, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sbConfig})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	created, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: sb.PodSandboxId,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "cloudcore"},
			Image:    &runtimeapi.ImageSpec{Image: imageRef},
			Args:     []string{"--defaultconfig"},
			LogPath:  "cloudcore.log",
			// deployment.yaml's securityContext; no RunAsUser, so the
			// image's user applies.
			Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				ReadonlyRootfs: true,
				NoNewPrivs:     true,
				Capabilities:   &runtimeapi.Capability{DropCapabilities: []string{"ALL"}},
				Seccomp:        &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
			}},
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
	testenv.WaitFor(t, imageStepTimeout, "cloudcore container to exit", func() error {
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
	return status
}
