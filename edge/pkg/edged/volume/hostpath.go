package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
)

// setUpHostPath checks (or creates) v's host path by its type and returns
// it. Paths are followed through symlinks, as the kubelet does.
func setUpHostPath(v *corev1.Volume) (string, error) {
	path := v.HostPath.Path
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("volume %s: hostPath %q is not absolute", v.Name, path)
	}
	path = filepath.Clean(path)
	typ := corev1.HostPathUnset
	if v.HostPath.Type != nil {
		typ = *v.HostPath.Type
	}
	if err := checkHostPath(path, typ); err != nil {
		return "", fmt.Errorf("volume %s: hostPath %s: %w", v.Name, path, err)
	}
	return path, nil
}

func checkHostPath(path string, typ corev1.HostPathType) error {
	switch typ {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if err := os.MkdirAll(path, 0o755); err != nil {
			return err
		}
		typ = corev1.HostPathDirectory
	case corev1.HostPathFileOrCreate:
		if err := createFile(path); err != nil {
			return err
		}
		typ = corev1.HostPathFile
	}
	want, ok := hostPathModes[typ]
	if !ok {
		return fmt.Errorf("unknown hostPath type %q", typ)
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("expected %s: %w", typ, err)
	}
	if !want(info.Mode()) {
		return fmt.Errorf("expected %s, found %s", typ, describeMode(info.Mode()))
	}
	return nil
}

// hostPathModes tells whether a file's mode matches each checked type.
var hostPathModes = map[corev1.HostPathType]func(fs.FileMode) bool{
	corev1.HostPathDirectory: fs.FileMode.IsDir,
	corev1.HostPathFile:      fs.FileMode.IsRegular,
	corev1.HostPathSocket:    func(m fs.FileMode) bool { return m&fs.ModeSocket != 0 },
	corev1.HostPathCharDev:   func(m fs.FileMode) bool { return m&fs.ModeCharDevice != 0 },
	corev1.HostPathBlockDev:  func(m fs.FileMode) bool { return m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0 },
}

// createFile makes an empty 0644 file at path unless something is there;
// the parent folder must exist (FileOrCreate does not create it).
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o644)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		return err
	}
	if err := f.Chmod(0o644); err != nil { // the umask may have masked the mode
		f.Close()
		return err
	}
	return f.Close()
}

// describeMode names the kind of file m is, for errors.
func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a file"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	}
	return "a file of mode " + m.String()
}
