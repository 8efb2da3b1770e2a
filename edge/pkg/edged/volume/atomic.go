package volume

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// dataLink is the symlink naming the folder that holds the current files.
const (
	dataLink    = "..data"
	dataLinkTmp = "..data_tmp"
)

// File is one file of a volume.
type File struct {
	Data []byte
	Mode fs.FileMode
}

// AtomicWriter writes the files of one volume folder. It is not safe for
// concurrent use: one pod worker owns a pod's volumes.
type AtomicWriter struct {
	// Dir is the volume's folder; created if missing.
	Dir string
	// Now names the timestamped folders; nil means time.Now.
	Now func() time.Time
}

// Write makes Dir hold exactly payload (paths relative to Dir, possibly
// with subfolders). It reports whether anything changed; when nothing did,
// nothing is written.
func (w *AtomicWriter) Write(payload map[string]File) (changed bool, err error) {
	for p := range payload {
		if err := validPath(p); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(w.Dir, 0o755); err != nil {
		return false, fmt.Errorf("volume %s: %w", w.Dir, err)
	}
	old, err := os.Readlink(filepath.Join(w.Dir, dataLink))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("volume %s: read %s: %w", w.Dir, dataLink, err)
	}
	if old != "" && sameContent(filepath.Join(w.Dir, old), payload) {
		return false, nil
	}
	fresh, err := w.writeFolder(payload)
	if err != nil {
		return false, err
	}
	if err := w.swapData(fresh); err != nil {
		os.RemoveAll(filepath.Join(w.Dir, fresh)) //nolint:errcheck // reporting err
		return false, err
	}
	if err := w.linkNames(payload); err != nil {
		return true, err
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(w.Dir, old)); err != nil {
			return true, fmt.Errorf("volume %s: remove old files: %w", w.Dir, err)
		}
	}
	return true, nil
}

// validPath refuses paths that would leave the volume or clash with the
// writer's own names.
func validPath(p string) error {
	switch {
	case p == "" || filepath.IsAbs(p):
		return fmt.Errorf("volume path %q must be relative and not empty", p)
	case strings.HasPrefix(p, ".."):
		return fmt.Errorf("volume path %q must not start with '..'", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "" || seg == "." {
			return fmt.Errorf("volume path %q has an empty, '.' or '..' element", p)
		}
	}
	return nil
}

// writeFolder writes payload into a new timestamped folder in Dir and
// returns its name.
func (w *AtomicWriter) writeFolder(payload map[string]File) (string, error) {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	dir, err := os.MkdirTemp(w.Dir, now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return "", fmt.Errorf("volume %s: %w", w.Dir, err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("volume %s: %w", w.Dir, err)
	}
	for p, f := range payload {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", fmt.Errorf("volume %s: %w", w.Dir, err)
		}
		if err := os.WriteFile(full, f.Data, f.Mode); err != nil {
			return "", fmt.Errorf("volume %s: write %s: %w", w.Dir, p, err)
		}
		if err := os.Chmod(full, f.Mode); err != nil { // WriteFile's mode is masked by the umask
			return "", fmt.Errorf("volume %s: chmod %s: %w", w.Dir, p, err)
		}
	}
	return filepath.Base(dir), nil
}

// swapData points ..data at folder with one rename.
func (w *AtomicWriter) swapData(folder string) error {
	tmp := filepath.Join(w.Dir, dataLinkTmp)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("volume %s: %w", w.Dir, err)
	}
	if err := os.Symlink(folder, tmp); err != nil {
		return fmt.Errorf("volume %s: %w", w.Dir, err)
	}
	if err := os.Rename(tmp, filepath.Join(w.Dir, dataLink)); err != nil {
		return fmt.Errorf("volume %s: switch %s: %w", w.Dir, dataLink, err)
	}
	return nil
}

// linkNames makes every top-level name of payload a symlink through
// ..data and removes the links of names that left it.
func (w *AtomicWriter) linkNames(payload map[string]File) error {
	want := map[string]bool{}
	for p := range payload {
		top, _, _ := strings.Cut(p, "/")
		want[top] = true
	}
	entries, err := os.ReadDir(w.Dir)
	if err != nil {
		return fmt.Errorf("volume %s: %w", w.Dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") || want[name] {
			continue
		}
		if err := os.Remove(filepath.Join(w.Dir, name)); err != nil {
			return fmt.Errorf("volume %s: remove %s: %w", w.Dir, name, err)
		}
	}
	for top := range want {
		link := filepath.Join(w.Dir, top)
		target := filepath.Join(dataLink, top)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		if err := os.Symlink(target, link); err != nil {
			return fmt.Errorf("volume %s: link %s: %w", w.Dir, top, err)
		}
	}
	return nil
}

// sameContent reports whether folder holds exactly payload, modes included.
func sameContent(folder string, payload map[string]File) bool {
	n := 0
	err := filepath.WalkDir(folder, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(folder, path)
		if err != nil {
			return err
		}
		f, ok := payload[filepath.ToSlash(rel)]
		if !ok {
			return errors.New("extra file")
		}
		info, err := d.Info()
		if err != nil || info.Mode().Perm() != f.Mode.Perm() {
			return errors.New("mode differs")
		}
		data, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(data, f.Data) {
			return errors.New("content differs")
		}
		n++
		return nil
	})
	return err == nil && n == len(payload)
}
