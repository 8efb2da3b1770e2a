package volume

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestHostPathTypes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A short folder: socket paths are limited to 108 bytes.
	sockDir, err := os.MkdirTemp("", "hp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	block := filepath.Join(dir, "block")
	if err := syscall.Mknod(block, syscall.S_IFBLK|0o600, 7<<8|200); err != nil {
		t.Fatalf("mknod (the test runs as root): %v", err)
	}
	missing := filepath.Join(dir, "missing")

	cases := []struct {
		typ     corev1.HostPathType
		path    string
		wantErr string // substring; "" for success
	}{
		{corev1.HostPathUnset, missing, ""},
		{corev1.HostPathDirectory, dir, ""},
		{corev1.HostPathDirectory, file, "expected Directory, found a file"},
		{corev1.HostPathDirectory, missing, "expected Directory: stat"},
		{corev1.HostPathDirectoryOrCreate, filepath.Join(dir, "new", "deep"), ""},
		{corev1.HostPathDirectoryOrCreate, file, "not a directory"},
		{corev1.HostPathFile, file, ""},
		{corev1.HostPathFile, dir, "expected File, found a directory"},
		{corev1.HostPathFileOrCreate, filepath.Join(dir, "created"), ""},
		{corev1.HostPathFileOrCreate, file, ""},
		{corev1.HostPathFileOrCreate, filepath.Join(dir, "noparent", "f"), "no such file or directory"},
		{corev1.HostPathFileOrCreate, dir, "expected File, found a directory"},
		{corev1.HostPathSocket, sock, ""},
		{corev1.HostPathSocket, file, "expected Socket, found a file"},
		{corev1.HostPathCharDev, "/dev/null", ""},
		{corev1.HostPathCharDev, block, "expected CharDevice, found a block device"},
		{corev1.HostPathBlockDev, block, ""},
		{corev1.HostPathBlockDev, "/dev/null", "expected BlockDevice, found a character device"},
		{"Pipe", dir, `unknown hostPath type "Pipe"`},
	}
	for _, c := range cases {
		t.Run(string(c.typ)+" "+filepath.Base(c.path), func(t *testing.T) {
			typ := c.typ
			v := &corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: c.path, Type: &typ}}}
			got, err := setUpHostPath(v)
			if c.wantErr != "" {
				prefix := "volume h: hostPath " + c.path + ": "
				if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v; want %q after %q", err, c.wantErr, prefix)
				}
				return
			}
			if err != nil || got != c.path {
				t.Fatalf("got %q, %v; want %q", got, err, c.path)
			}
		})
	}
	if info, err := os.Stat(filepath.Join(dir, "new", "deep")); err != nil || !info.IsDir() || info.Mode().Perm() != 0o755 {
		t.Errorf("DirectoryOrCreate made %v, %v; want a 0755 folder", info, err)
	}
	if info, err := os.Stat(filepath.Join(dir, "created")); err != nil || !info.Mode().IsRegular() || info.Mode().Perm() != 0o644 || info.Size() != 0 {
		t.Errorf("FileOrCreate made %v, %v; want an empty 0644 file", info, err)
	}
	if got := read(t, file); got != "x" {
		t.Errorf("FileOrCreate changed an existing file: %q", got)
	}
}
