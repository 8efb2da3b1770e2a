package gc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// podLogDir is the pod's log folder name, <namespace>_<name>_<uid>.
func podLogDir(pod *runstate.Pod) (string, bool) {
	for _, part := range []string{pod.Namespace, pod.Name, string(pod.UID)} {
		if !safeName(part) {
			return "", false
		}
	}
	return pod.Namespace + "_" + pod.Name + "_" + string(pod.UID), true
}

// safeName reports whether s can be one element of a log path: the
// runtime's labels are not trusted to keep a removal inside PodLogsDir.
func safeName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\`)
}

// uidOfLogDir parses a pod log folder's name, <namespace>_<name>_<uid>
// (namespaces and pod names have no underscore).
func uidOfLogDir(name string) (types.UID, bool) {
	parts := strings.Split(name, "_")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", false
	}
	return types.UID(parts[2]), true
}

// removeContainerLogs removes a removed container's log file
// (<container>/<attempt>.log) and its rotated siblings (<attempt>.log.*).
// Without PodLogsDir, or for a pod or container whose names cannot make a
// path, it does nothing.
func (c *Collector) removeContainerLogs(pod *runstate.Pod, ctr runstate.Container) error {
	if c.podLogsDir == "" || pod == nil || !safeName(ctr.Name) {
		return nil
	}
	dir, ok := podLogDir(pod)
	if !ok {
		return nil
	}
	base := filepath.Join(c.podLogsDir, dir, ctr.Name, strconv.FormatUint(uint64(ctr.Attempt), 10)+".log")
	rotated, err := filepath.Glob(base + ".*")
	if err != nil {
		return fmt.Errorf("container gc: logs of container %s: %w", ctr.ID, err)
	}
	var errs []error
	for _, f := range append([]string{base}, rotated...) {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("container gc: log of container %s: %w", ctr.ID, err))
		}
	}
	return errors.Join(errs...)
}

// removePodLogDirs removes the log folders in PodLogsDir of pods that are
// not live and have no container left (remaining counts them). A missing
// PodLogsDir has nothing to remove.
func (c *Collector) removePodLogDirs(remaining map[types.UID]int) (int, error) {
	if c.podLogsDir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(c.podLogsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("container gc: pod logs: %w", err)
	}
	var n int
	var errs []error
	for _, e := range entries {
		uid, ok := uidOfLogDir(e.Name())
		if !ok || !e.IsDir() || c.live(uid) || remaining[uid] > 0 {
			continue
		}
		if err := os.RemoveAll(filepath.Join(c.podLogsDir, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("container gc: logs of pod %s: %w", uid, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
