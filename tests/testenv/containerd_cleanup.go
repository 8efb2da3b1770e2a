package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sweepContainerd runs after the daemon stopped. When the orderly CRI
// cleanup did its job it finds nothing. Otherwise it kills the shims this
// instance started (they run in their own process groups and outlive the
// daemon by design) together with their containers, unmounts anything left
// under the instance's directories so that removing them succeeds, and
// removes the containers' cgroups and pod IP reservations.
func sweepContainerd(t T, l containerdLayout) {
	ids := taskIDs(l.state)
	procs := Procs()
	for _, pid := range shimsOf(procs, l.socket) {
		victims := append(descendants(procs, pid), pid)
		t.Logf("cleanup: killing leftover containerd shim %d and %d descendants", pid, len(victims)-1)
		for _, v := range victims {
			_ = syscall.Kill(v, syscall.SIGKILL)
		}
		waitGone(victims, 10*time.Second)
	}
	for _, m := range mountsUnder(l.root, l.state, filepath.Dir(l.socket)) {
		t.Logf("cleanup: unmounting leftover %s", m)
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			t.Errorf("cleanup: unmount %s: %v", m, err)
		}
	}
	cgroups := cgroupsOf(ids)
	if len(cgroups) > 0 {
		t.Logf("cleanup: removing %d leftover cgroups of %d containers", len(cgroups), len(ids))
	}
	for _, dir := range cgroups {
		if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
			t.Errorf("cleanup: remove cgroup %s: %v", dir, err)
		}
	}
	releasePodIPs(t, ids)
}

// taskIDs returns the ids of the containers and sandboxes whose runtime task
// containerd has not deleted.
func taskIDs(state string) map[string]bool {
	ids := map[string]bool{}
	entries, _ := os.ReadDir(filepath.Join(state, "io.containerd.runtime.v2.task", CRINamespace))
	for _, e := range entries {
		ids[e.Name()] = true
	}
	return ids
}

// cgroupsOf returns the cgroup directories named after one of ids (runc
// names a container's cgroup by its id), deepest first, in every hierarchy.
func cgroupsOf(ids map[string]bool) []string {
	if len(ids) == 0 {
		return nil
	}
	var dirs []string
	_ = filepath.WalkDir("/sys/fs/cgroup", func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if ids[d.Name()] {
			dirs = append(dirs, path)
		}
		if strings.Count(path, "/") > 6 {
			return filepath.SkipDir
		}
		return nil
	})
	slices.Reverse(dirs)
	return dirs
}

// releasePodIPs removes host-local reservations held by ids in the shared
// CNI network: each is a file named by the IP whose first line is the
// sandbox id.
func releasePodIPs(t T, ids map[string]bool) {
	dir := filepath.Join("/var/lib/cni/networks", cniNetworkName)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if id, _, _ := strings.Cut(string(data), "\n"); ids[strings.TrimSpace(id)] {
			t.Logf("cleanup: releasing leftover pod IP %s", e.Name())
			_ = os.Remove(path)
		}
	}
}

// shimsOf returns the pids of containerd-shim-runc-v2 processes whose
// -address is socket: the shims of one containerd instance.
func shimsOf(procs []Proc, socket string) []int {
	var pids []int
	for _, p := range procs {
		if len(p.Argv) == 0 || filepath.Base(p.Argv[0]) != "containerd-shim-runc-v2" {
			continue
		}
		if i := slices.Index(p.Argv, "-address"); i >= 0 && i+1 < len(p.Argv) && p.Argv[i+1] == socket {
			pids = append(pids, p.PID)
		}
	}
	return pids
}

// descendants returns the pids of every process below pid.
func descendants(procs []Proc, pid int) []int {
	children := map[int][]int{}
	for _, p := range procs {
		children[p.PPID] = append(children[p.PPID], p.PID)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		out = append(out, children[next]...)
		queue = append(queue, children[next]...)
	}
	return out
}

// waitGone waits until none of pids exists, at most timeout.
func waitGone(pids []int, timeout time.Duration) {
	_ = poll(timeout, nil, func() error {
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				return errors.New("still running")
			}
		}
		return nil
	})
}

// mountsUnder returns the mount points under any of dirs, deepest first.
func mountsUnder(dirs ...string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountPath(fields[4])
		for _, d := range dirs {
			if strings.HasPrefix(mp, d+"/") {
				out = append(out, mp)
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(out)
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
