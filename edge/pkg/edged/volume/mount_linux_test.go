package volume

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tether-edge/tether/edge/pkg/edged/containerspec"
)

// A memory emptyDir is a tmpfs of its sizeLimit, mounted once however
// often SetUp runs, and unmounted by TearDown before the folder goes.
// Mounting needs root, which the tests have.
func TestMemoryEmptyDir(t *testing.T) {
	m := newTestManager(t, newLiveObjects())
	limit := resource.MustParse("4Mi")
	pod := testPod("uid-1", vol("ram", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
		Medium: corev1.StorageMediumMemory, SizeLimit: &limit}}))
	var dir string
	for range 2 {
		vols, err := m.SetUp(pod, containerspec.Downward{})
		if err != nil {
			t.Fatalf("SetUp (the test runs as root): %v", err)
		}
		dir = vols["ram"]
	}
	points, err := mountsBelow(m.podsDir)
	if err != nil || len(points) != 1 || points[0] != dir {
		t.Fatalf("mounts below the pods dir: %v, %v; want one on %s", points, err, dir)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	const tmpfsMagic = 0x01021994
	if st.Type != tmpfsMagic || st.Blocks*uint64(st.Bsize) != 4<<20 {
		t.Fatalf("statfs type %#x, %d blocks of %d; want a 4Mi tmpfs", st.Type, st.Blocks, st.Bsize)
	}
	if got := perm(t, dir); got != 0o777 {
		t.Fatalf("the tmpfs root has mode %v; want 0777", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	if err := m.TearDown("uid-1"); err != nil {
		t.Fatal(err)
	}
	if points, err := mountsBelow(m.podsDir); err != nil || len(points) != 0 {
		t.Fatalf("mounts left after TearDown: %v, %v", points, err)
	}
	if _, err := os.Lstat(filepath.Join(m.podsDir, "uid-1")); !os.IsNotExist(err) {
		t.Fatalf("the pod folder is still there: %v", err)
	}
}

// TearDown removes nothing while a mount it cannot undo remains.
func TestTearDownKeepsFolderWhileMounted(t *testing.T) {
	m := newTestManager(t, newLiveObjects())
	pod := testPod("uid-1", vol("ram", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}))
	vols, err := m.SetUp(pod, containerspec.Downward{})
	if err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(vols["ram"], "keep")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// An open file keeps the tmpfs busy: unmount fails with EBUSY.
	f, err := os.Open(keep)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := m.TearDown("uid-1"); err == nil {
		t.Fatal("TearDown succeeded with the tmpfs busy")
	}
	if got := read(t, keep); got != "x" {
		t.Fatalf("the busy tmpfs lost its file: %q", got)
	}
	f.Close()
	if err := m.TearDown("uid-1"); err != nil {
		t.Fatalf("TearDown once the tmpfs is free: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(m.podsDir, "uid-1")); !os.IsNotExist(err) {
		t.Fatalf("the pod folder is still there: %v", err)
	}
}

func TestUnescapeMountPath(t *testing.T) {
	for in, want := range map[string]string{
		`/var/lib/a`:          "/var/lib/a",
		`/mnt/with\040space`:  "/mnt/with space",
		`/tab\011and\134back`: "/tab\tand\\back",
		`/trailing\04`:        `/trailing\04`,
	} {
		if got := unescapeMountPath(in); got != want {
			t.Errorf("unescape %q = %q; want %q", in, got, want)
		}
	}
}
