package staticpod

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Scan reads the manifests of dir once, for node, as Source does on each
// scan. prev is the last scan's pods by file name (nil for none): a file
// that no longer decodes keeps its pod from there, and a pod whose file
// did not change keeps its config.seen. It returns the pods sorted by
// namespace and name, and one error per file skipped (or kept from prev),
// each naming the file.
func Scan(dir, node string, prev map[string]*corev1.Pod) (pods []*corev1.Pod, errs []error) {
	byFile, errs := scan(dir, node, prev, time.Now())
	return sorted(byFile), errs
}

// scan is Scan by file name, with the clock's now for config.seen.
func scan(dir, node string, prev map[string]*corev1.Pod, now time.Time) (map[string]*corev1.Pod, []error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]*corev1.Pod{}, nil
	}
	if err != nil {
		return maps.Clone(prev), []error{fmt.Errorf("read static pod folder: %w (keeping its pods)", err)}
	}
	seen := now.UTC().Format(time.RFC3339)
	pods := map[string]*corev1.Pod{}
	owner := map[string]string{} // namespace/name → the file defining it
	var errs []error
	for _, e := range entries {
		file := e.Name()
		if !isManifestName(file) {
			continue
		}
		p, err := readManifest(filepath.Join(dir, file), node, prev[file], seen)
		if errors.Is(err, errNotAFile) {
			continue
		}
		if err != nil {
			if p == nil {
				errs = append(errs, fmt.Errorf("static pod file %s skipped: %w", file, err))
				continue
			}
			errs = append(errs, fmt.Errorf("static pod file %s: %w (keeping the pod of its last good version)", file, err))
		}
		key := p.Namespace + "/" + p.Name
		if first, dup := owner[key]; dup {
			errs = append(errs, fmt.Errorf("static pod file %s skipped: pod %s is already defined by %s", file, key, first))
			continue
		}
		owner[key] = file
		pods[file] = p
	}
	return pods, errs
}

// errNotAFile: the name is a folder (or a link to one), not a manifest.
var errNotAFile = errors.New("not a regular file")

// readManifest reads the static pod of path. When the file is bad it
// returns the error and prev (nil when there is none), the pod of the
// file's last good version. A pod whose UID is prev's keeps prev's
// config.seen.
func readManifest(path, node string, prev *corev1.Pod, seen string) (*corev1.Pod, error) {
	fi, err := os.Stat(path)
	if err == nil && !fi.Mode().IsRegular() {
		return nil, errNotAFile
	}
	var content []byte
	if err == nil {
		content, err = os.ReadFile(path)
	}
	if err != nil {
		return prev, fmt.Errorf("read: %w", err)
	}
	if prev != nil && prev.UID == manifestUID(content, node) {
		return prev, nil // unchanged: no need to decode again
	}
	p, err := decodeManifest(content, node, seen)
	if err != nil {
		return prev, err
	}
	return p, nil
}

// isManifestName reports whether a file of the folder is a manifest:
// .yaml, .yml or .json, not a dot file.
func isManifestName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// sorted lists pods by namespace and name.
func sorted(byFile map[string]*corev1.Pod) []*corev1.Pod {
	pods := slices.Collect(maps.Values(byFile))
	slices.SortFunc(pods, func(a, b *corev1.Pod) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return pods
}
