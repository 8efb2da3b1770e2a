//go:build linux

package nodestatus

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// SystemHost reads the machine edgecore runs on, from /proc, /sys, /etc
// and statfs(2). Its zero value is ready; it holds no state.
type SystemHost struct{}

// Machine implements Host.
func (SystemHost) Machine() Machine {
	return Machine{
		KernelVersion: firstLine("/proc/sys/kernel/osrelease"),
		OSImage:       parseOSRelease(firstFile("/etc/os-release", "/usr/lib/os-release")),
		MachineID:     firstLine("/etc/machine-id", "/var/lib/dbus/machine-id"),
		BootID:        firstLine("/proc/sys/kernel/random/boot_id"),
		Architecture:  runtime.GOARCH,
	}
}

// Resources implements Host.
func (SystemHost) Resources() (Resources, error) {
	var errs []error
	r := Resources{CPUs: onlineCPUs()}
	r.Hostname, _ = os.Hostname()
	if meminfo, err := os.ReadFile("/proc/meminfo"); err != nil {
		errs = append(errs, err)
	} else if r.MemoryBytes, err = parseMeminfo(string(meminfo)); err != nil {
		errs = append(errs, err)
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs("/", &fs); err != nil {
		errs = append(errs, fmt.Errorf("statfs /: %w", err))
	} else {
		r.RootFSBytes = int64(fs.Blocks) * int64(fs.Bsize)
	}
	if err := errors.Join(errs...); err != nil {
		return Resources{}, fmt.Errorf("read host: %w", err)
	}
	return r, nil
}

// Pressure implements Host.
func (SystemHost) Pressure(filesystems []string) (PressureReadings, error) {
	var errs []error
	var r PressureReadings
	if meminfo, err := os.ReadFile("/proc/meminfo"); err != nil {
		errs = append(errs, err)
	} else if r.MemAvailableBytes, err = meminfoField(string(meminfo), "MemAvailable"); err != nil {
		errs = append(errs, err)
	}
	for _, path := range filesystems {
		var fs syscall.Statfs_t
		if err := syscall.Statfs(path, &fs); err != nil {
			errs = append(errs, fmt.Errorf("statfs %s: %w", path, err))
			continue
		}
		r.FileSystems = append(r.FileSystems, FSUsage{
			Path:           path,
			AvailableBytes: int64(fs.Bavail) * int64(fs.Bsize),
			TotalBytes:     int64(fs.Blocks) * int64(fs.Bsize),
		})
	}
	if loadavg, err := os.ReadFile("/proc/loadavg"); err != nil {
		errs = append(errs, err)
	} else if r.PIDs, err = parseLoadavgThreads(string(loadavg)); err != nil {
		errs = append(errs, err)
	}
	r.PIDMax = pidMax()
	if r.PIDMax <= 0 {
		errs = append(errs, errors.New("read kernel.pid_max: no value"))
	}
	if err := errors.Join(errs...); err != nil {
		return PressureReadings{}, fmt.Errorf("read pressure: %w", err)
	}
	return r, nil
}

// pidMax is the most processes and threads there may be: kernel.pid_max,
// or kernel.threads-max when lower (as the kubelet counts); 0 if neither
// can be read.
func pidMax() int64 {
	var least int64
	for _, p := range []string{"/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max"} {
		n, err := strconv.ParseInt(firstLine(p), 10, 64)
		if err == nil && n > 0 && (least == 0 || n < least) {
			least = n
		}
	}
	return least
}

// onlineCPUs counts the online CPUs, which may be more than this process
// may use (runtime.NumCPU, the fallback, honours the affinity mask).
func onlineCPUs() int {
	if n, err := parseCPUList(firstLine("/sys/devices/system/cpu/online")); err == nil && n > 0 {
		return n
	}
	return runtime.NumCPU()
}

// firstFile returns the content of the first of paths that can be read.
func firstFile(paths ...string) string {
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
	}
	return ""
}

// firstLine returns the first line of the first of paths that can be read
// and is not empty, trimmed.
func firstLine(paths ...string) string {
	for _, p := range paths {
		line, _, _ := strings.Cut(firstFile(p), "\n")
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}
