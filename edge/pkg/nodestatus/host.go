package nodestatus

import (
	"fmt"
	"strconv"
	"strings"
)

// Host reads what the Node reports about the machine. SystemHost is the
// real one; tests pass a fake.
type Host interface {
	// Machine reads what does not change while edgecore runs; the module
	// calls it once, at Start. Fields that cannot be read are empty (a
	// container may have no machine ID).
	Machine() Machine
	// Resources reads the rest now; the module calls it at every report
	// and registration. An error means the essentials (CPU, memory, root
	// filesystem) could not be read.
	Resources() (Resources, error)
	// Pressure reads what the pressure conditions are computed from, with
	// the usage of filesystems (paths on them) in that order; the module
	// calls it at every report when a threshold is set. An error means
	// some reading failed.
	Pressure(filesystems []string) (PressureReadings, error)
}

// PressureReadings are what the pressure conditions are computed from.
type PressureReadings struct {
	// MemAvailableBytes is /proc/meminfo's MemAvailable: the memory that
	// can be had without swapping.
	MemAvailableBytes int64
	// FileSystems are the usage of the filesystems asked for.
	FileSystems []FSUsage
	// PIDs is the number of processes and threads now; PIDMax the most
	// there may be (kernel.pid_max, or kernel.threads-max if lower).
	PIDs   int64
	PIDMax int64
}

// FSUsage is the usage of the filesystem a path is on.
type FSUsage struct {
	Path string
	// AvailableBytes is what unprivileged users may still write;
	// TotalBytes the filesystem's size.
	AvailableBytes int64
	TotalBytes     int64
}

// HostInfo is what the Node reports about the machine.
type HostInfo struct {
	Machine
	Resources
}

// Machine is what the Node reports about the machine that does not change
// while edgecore runs.
type Machine struct {
	// KernelVersion is the kernel release (uname -r); OSImage the
	// PRETTY_NAME of os-release.
	KernelVersion string
	OSImage       string
	// MachineID and BootID identify the machine and this boot.
	MachineID string
	BootID    string
	// Architecture is GOARCH.
	Architecture string
}

// Resources is what the Node reports about the machine that may change
// while edgecore runs.
type Resources struct {
	// CPUs is the number of online CPUs.
	CPUs int
	// MemoryBytes is the total memory; RootFSBytes the size of the root
	// filesystem.
	MemoryBytes int64
	RootFSBytes int64
	// Hostname is the host's name; "" if it cannot be read.
	Hostname string
}

// parseMeminfo returns MemTotal from /proc/meminfo, in bytes.
func parseMeminfo(text string) (int64, error) { return meminfoField(text, "MemTotal") }

// meminfoField returns the field key (MemTotal, MemAvailable) of
// /proc/meminfo, in bytes.
func meminfoField(text, key string) (int64, error) {
	for line := range strings.Lines(text) {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("meminfo: bad %s line %q", key, strings.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("meminfo: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("meminfo: no %s", key)
}

// parseLoadavgThreads returns the number of processes and threads from
// /proc/loadavg ("0.20 0.18 0.12 1/80 11206": the 4th field's total).
func parseLoadavgThreads(text string) (int64, error) {
	f := strings.Fields(text)
	if len(f) < 4 {
		return 0, fmt.Errorf("loadavg %q: want 5 fields", strings.TrimSpace(text))
	}
	_, total, ok := strings.Cut(f[3], "/")
	n, err := strconv.ParseInt(total, 10, 64)
	if !ok || err != nil || n < 0 {
		return 0, fmt.Errorf("loadavg %q: bad running/total field", strings.TrimSpace(text))
	}
	return n, nil
}

// parseCPUList counts the CPUs of a sysfs list such as "0-3,6,8-9".
func parseCPUList(text string) (int, error) {
	n := 0
	for part := range strings.SplitSeq(strings.TrimSpace(text), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		if err != nil {
			return 0, fmt.Errorf("cpu list %q: %w", text, err)
		}
		last := first
		if isRange {
			if last, err = strconv.Atoi(hi); err != nil || last < first {
				return 0, fmt.Errorf("cpu list %q: bad range %q", text, part)
			}
		}
		n += last - first + 1
	}
	return n, nil
}

// parseOSRelease returns PRETTY_NAME of an os-release file; "" if absent.
func parseOSRelease(text string) string {
	for line := range strings.Lines(text) {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME=")
		if !ok {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			return u
		}
		return strings.Trim(v, `'"`)
	}
	return ""
}
