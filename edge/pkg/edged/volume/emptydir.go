package volume

import (
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// emptyDirMode lets containers running as any user write the folder, as
// the kubelet does.
const emptyDirMode = 0o777

// setUpEmptyDir makes the pod's emptyDir folder; medium Memory mounts a
// tmpfs on it (of sizeLimit bytes when set), once. A disk-backed
// emptyDir's sizeLimit is not enforced.
func (m *Manager) setUpEmptyDir(uid types.UID, v *corev1.Volume) (string, error) {
	dir := filepath.Join(m.kindDir(uid, kindEmptyDir), v.Name)
	if err := ensureDir(dir, emptyDirMode); err != nil {
		return "", fmt.Errorf("volume %s: %w", v.Name, err)
	}
	switch v.EmptyDir.Medium {
	case corev1.StorageMediumDefault:
		return dir, nil
	case corev1.StorageMediumMemory:
	default:
		return "", fmt.Errorf("volume %s: emptyDir medium %q is not supported on edge nodes", v.Name, v.EmptyDir.Medium)
	}
	mounted, err := isMountPoint(dir)
	if err != nil {
		return "", fmt.Errorf("volume %s: %w", v.Name, err)
	}
	if mounted {
		return dir, nil
	}
	var size int64
	if v.EmptyDir.SizeLimit != nil {
		size = v.EmptyDir.SizeLimit.Value()
	}
	if err := mountTmpfs(dir, size); err != nil {
		return "", fmt.Errorf("volume %s: %w", v.Name, err)
	}
	m.log.Info("tmpfs mounted for emptyDir", "uid", uid, "volume", v.Name, "sizeBytes", size)
	return dir, nil
}

// isMountPoint reports whether something is mounted on dir: its device
// differs from its parent's. Enough for the tmpfs mounts made here, each
// of which is a new device.
func isMountPoint(dir string) (bool, error) {
	self, err := os.Stat(dir)
	if err != nil {
		return false, err
	}
	parent, err := os.Stat(filepath.Dir(dir))
	if err != nil {
		return false, err
	}
	return deviceOf(self) != deviceOf(parent), nil
}
