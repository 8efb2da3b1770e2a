package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Containerd versions StartContainerd runs.
const (
	// Containerd24 is containerd 2.4 built by build/containerd.sh; it streams
	// CRI container events (GetContainerEvents).
	Containerd24 = "2.4"
	// Containerd16 is Debian's containerd 1.6; it has no CRI event stream,
	// so clients must fall back to relisting.
	Containerd16 = "1.6"
)

// CRINamespace is the containerd namespace the CRI plugin uses.
const CRINamespace = "k8s.io"

const (
	containerdReadyTimeout = 30 * time.Second
	imageImportTimeout     = 60 * time.Second
	criCleanupTimeout      = 60 * time.Second
)

// ContainerdOptions configures StartContainerd.
type ContainerdOptions struct {
	// Paths finds the binaries and images; zero fields: DefaultPaths.
	Paths Paths
	// Version is Containerd24 (the default when empty) or Containerd16.
	Version string
}

// Containerd is a running containerd started by StartContainerd.
type Containerd struct {
	// Version is Containerd24 or Containerd16.
	Version string
	// Endpoint is the path of the gRPC unix socket (CRI v1 and containerd's
	// own API); dial it as "unix://" + Endpoint.
	Endpoint string
	// Root and State are containerd's --root and --state directories.
	Root, State string
	// ConfigFile is the generated config.toml.
	ConfigFile string
	// Ctr is the ctr binary matching Version.
	Ctr string
	// Process is the daemon.
	Process *Process
}

// StartContainerd runs a private containerd: own config (the version's
// `containerd config default` with restrict_oom_score_adj, PauseImage as
// sandbox image, CNI plugins from Paths.CNIBin and a bridge network on
// PodSubnet), own root, state and socket, no NRI. It imports BusyboxImage and
// PauseImage into the CRI namespace and waits until the CRI API answers and
// lists both images.
//
// Cleanup stops and removes every pod sandbox through CRI, stops the daemon,
// kills any shim of this instance left behind (with its containers) and
// unmounts whatever is still mounted under its directories.
func StartContainerd(t T, opts ContainerdOptions) *Containerd {
	t.Helper()
	paths := opts.Paths.withDefaults()
	version := opts.Version
	if version == "" {
		version = Containerd24
	}
	bin, c := containerdBinaries(t, paths, version)
	requireFile(t, "test image "+BusyboxImage, paths.BusyboxImageTar())
	requireFile(t, "test image "+PauseImage, paths.PauseImageTar())
	requireFile(t, "CNI bridge plugin (Debian package containernetworking-plugins)", filepath.Join(paths.CNIBin, "bridge"))
	if os.Geteuid() != 0 {
		t.Fatalf("containerd needs root to run containers (uid %d)", os.Geteuid())
	}
	l := newContainerdLayout(t, paths)
	c.Root, c.State, c.ConfigFile, c.Endpoint = l.root, l.state, l.config, l.socket
	if err := writeContainerdConfig(bin, version, l); err != nil {
		t.Fatalf("containerd %s config: %v", version, err)
	}
	// Runs last: whatever the orderly shutdown below left behind.
	t.Cleanup(func() { sweepContainerd(t, l) })
	c.Process = StartProcess(t, Command{
		Name: "containerd-" + version, Path: bin, Args: []string{"--config", l.config},
		Env: []string{"PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH") + ":/usr/sbin:/sbin"},
	})
	conn := c.dial(t)
	rt, img := runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
	// Runs first, while the daemon still runs.
	t.Cleanup(func() { removeAllPods(t, rt); conn.Close() })
	waitReady(t, c.Process, containerdReadyTimeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := rt.Version(ctx, &runtimeapi.VersionRequest{})
		return err
	})
	importStart := time.Now()
	c.importImage(t, paths.PauseImageTar())
	c.importImage(t, paths.BusyboxImageTar())
	WaitFor(t, imageImportTimeout, "CRI to list the test images", func() error { return imagesPresent(img) })
	t.Logf("containerd %s: test images imported in %v", version, time.Since(importStart).Round(time.Millisecond))
	return c
}

// containerdBinaries checks the binaries of version and returns the daemon's
// path and a Containerd with Version and Ctr set.
func containerdBinaries(t T, paths Paths, version string) (string, *Containerd) {
	t.Helper()
	var dir, what string
	switch version {
	case Containerd24:
		dir, what = paths.ContainerdBin, "containerd "+version
	case Containerd16:
		dir, what = paths.SystemBin, "containerd "+version+" (Debian package containerd)"
	default:
		t.Fatalf("StartContainerd: unknown version %q (want %q or %q)", version, Containerd24, Containerd16)
	}
	for _, b := range []string{"containerd", "containerd-shim-runc-v2", "ctr"} {
		requireFile(t, what+": "+b, filepath.Join(dir, b))
	}
	if _, err := exec.LookPath("runc"); err != nil {
		if _, err := os.Stat("/usr/sbin/runc"); err != nil {
			t.Fatalf("runc not found on PATH or at /usr/sbin/runc: %s", depsHint)
		}
	}
	return filepath.Join(dir, "containerd"), &Containerd{Version: version, Ctr: filepath.Join(dir, "ctr")}
}

// newContainerdLayout makes the instance's directories: root and state in
// t.TempDir(), sockets in a short directory under /tmp (unix socket paths are
// limited to 108 bytes).
func newContainerdLayout(t T, paths Paths) containerdLayout {
	t.Helper()
	dir := t.TempDir()
	sock := shortTempDir(t, "ctd")
	l := containerdLayout{
		config: filepath.Join(dir, "config.toml"), root: filepath.Join(dir, "root"), state: filepath.Join(dir, "state"),
		socket: filepath.Join(sock, "containerd.sock"), shimSockets: filepath.Join(sock, "s"),
		cniConf: filepath.Join(dir, "cni"), cniBin: paths.CNIBin,
	}
	for _, d := range []string{l.root, l.state, l.shimSockets} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			t.Fatalf("mkdir %s: %v", d, err)
		}
	}
	return l
}

func (c *Containerd) dial(t T) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+c.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial containerd %s: %v", c.Endpoint, err)
	}
	return conn
}

// CRI returns CRI v1 clients on a new connection, closed at cleanup.
func (c *Containerd) CRI(t T) (runtimeapi.RuntimeServiceClient, runtimeapi.ImageServiceClient) {
	t.Helper()
	conn := c.dial(t)
	t.Cleanup(func() { conn.Close() })
	return runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
}

// importImage imports an OCI archive into the CRI namespace with ctr.
func (c *Containerd) importImage(t T, tarball string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), imageImportTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Ctr, "--address", c.Endpoint, "--namespace", CRINamespace,
		"images", "import", tarball)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ctr images import %s: %v\n%s", tarball, err, out)
	}
}

// imagesPresent returns nil when CRI knows both test images.
func imagesPresent(img runtimeapi.ImageServiceClient) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, ref := range []string{PauseImage, BusyboxImage} {
		resp, err := img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
		if err != nil {
			return err
		}
		if resp.GetImage() == nil {
			return fmt.Errorf("image %s not listed", ref)
		}
	}
	return nil
}

// removeAllPods stops and removes every pod sandbox, and with them their
// containers, so that the shims exit and unmount their rootfs.
func removeAllPods(t T, rt runtimeapi.RuntimeServiceClient) {
	ctx, cancel := context.WithTimeout(context.Background(), criCleanupTimeout)
	defer cancel()
	resp, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Logf("cleanup: list pod sandboxes: %v", err)
		return
	}
	var failed []string
	for _, sb := range resp.GetItems() {
		if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			failed = append(failed, fmt.Sprintf("stop %s: %v", sb.Id, err))
		}
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			failed = append(failed, fmt.Sprintf("remove %s: %v", sb.Id, err))
		}
	}
	if len(failed) > 0 {
		t.Errorf("cleanup: pod sandboxes:\n%s", strings.Join(failed, "\n"))
	}
}
