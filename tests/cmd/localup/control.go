package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tether-edge/tether/tests/testenv"
)

const (
	startTimeout = 8 * time.Minute
	// stopTimeout covers the slowest orderly stop: the demo pod's grace
	// period, then containerd removing its sandboxes.
	stopTimeout = time.Minute
	pollEvery   = 200 * time.Millisecond
)

// up starts the supervisor unless one is running, repeats its progress until
// it reports ready, and prints how to reach the system.
func up(o options) error {
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	if pid, ok := running(o.dir); ok {
		if st, err := readState(o.dir); err == nil {
			fmt.Printf("already running (supervisor pid %d)\n", pid)
			printState(o, st)
			return nil
		}
		return fmt.Errorf("supervisor pid %d is running but not ready; see %s, or run make down", pid, logPath(o.dir))
	}
	// Nothing is running: start from clean folders, not the last run's etcd data.
	os.Remove(statePath(o.dir))
	if err := os.RemoveAll(filepath.Join(o.dir, "run")); err != nil {
		return err
	}
	pid, err := startSupervisor(o)
	if err != nil {
		return err
	}
	fmt.Printf("starting Tether (supervisor pid %d, log %s)\n", pid, logPath(o.dir))
	st, err := waitReady(o.dir, pid, os.Stdout)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, testenv.TailFile(logPath(o.dir), 30))
	}
	if err := linkKubectl(st.Kubectl, o.kubectlLink()); err != nil {
		return err
	}
	printState(o, st)
	return nil
}

func startSupervisor(o options) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	logf, err := os.Create(logPath(o.dir))
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(self, append(o.args(), "serve")...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives make; down signals its group
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start supervisor: %w", err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(pidPath(o.dir), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return 0, err
	}
	return pid, cmd.Process.Release()
}

// waitReady waits for the state file, writing each progress line of the
// supervisor's log to out as it appears.
func waitReady(dir string, pid int, out io.Writer) (state, error) {
	deadline := time.Now().Add(startTimeout)
	started := time.Now()
	var seen int64
	for {
		seen = showProgress(logPath(dir), seen, out, started)
		if st, err := readState(dir); err == nil {
			return st, nil
		}
		if !alive(pid) {
			return state{}, errors.New("the supervisor exited before the system was ready")
		}
		if time.Now().After(deadline) {
			return state{}, fmt.Errorf("not ready within %s", startTimeout)
		}
		time.Sleep(pollEvery)
	}
}

// showProgress writes the progress lines of log past offset, each with the
// time since start, and returns the offset of the first incomplete line.
func showProgress(log string, offset int64, out io.Writer, start time.Time) int64 {
	f, err := os.Open(log)
	if err != nil {
		return offset
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return offset
	}
	b, _ := io.ReadAll(f)
	end := bytes.LastIndexByte(b, '\n')
	if end < 0 {
		return offset
	}
	for _, line := range strings.Split(string(b[:end]), "\n") {
		if msg, ok := strings.CutPrefix(line, progressPrefix); ok && msg != "ready" {
			fmt.Fprintf(out, "  [%3.0fs] %s\n", time.Since(start).Seconds(), msg)
		}
	}
	return offset + int64(end) + 1
}

// linkKubectl points link at the control plane's kubectl, replacing an
// older link.
func linkKubectl(target, link string) error {
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, link)
}

// down stops the supervisor, which stops everything it started.
func down(o options) error {
	pid, ok := running(o.dir)
	if !ok {
		fmt.Println("nothing running")
		return cleanFiles(o)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal supervisor %d: %w", pid, err)
	}
	fmt.Printf("stopping (supervisor pid %d)\n", pid)
	deadline := time.Now().Add(stopTimeout)
	for alive(pid) {
		if time.Now().After(deadline) {
			fmt.Printf("supervisor %d did not stop within %s; killing its process group\n", pid, stopTimeout)
			syscall.Kill(-pid, syscall.SIGKILL)
			break
		}
		time.Sleep(pollEvery)
	}
	fmt.Println("stopped")
	return cleanFiles(o)
}

func printState(o options, st state) {
	binDir := filepath.Dir(o.kubectlLink())
	podNS, pod, _ := strings.Cut(st.DemoPod, "/")
	fmt.Printf(`
Tether is up: node %s is Ready and runs the demo pod %s.

Point kubectl (v%s's, linked into %s) at it:
  export KUBECONFIG=%s PATH=%s:$PATH

Then try:
  kubectl get nodes,pods -o wide
  kubectl logs -f -n %s %s
  kubectl exec -n %s %s -- uname -a
  curl -s %s/metrics | grep ^tether_      (edgecore; cloudcore: %s/metrics)
  make down                               (stops everything make up started)

Logs: cloudcore %s
      edgecore  %s
      all       %s (apiserver, etcd, containerd, ...)
`, st.NodeName, st.DemoPod, kubeVersion(st.Kubectl), binDir, st.Kubeconfig, binDir,
		podNS, pod, podNS, pod,
		st.EdgeHealth, st.CloudHealth, st.CloudcoreLog, st.EdgecoreLog, st.LogDir)
	if st.Device != "" {
		printDeviceHints(st)
	}
}

// kubeVersion is the Kubernetes version in the cached kubectl's path
// (…/kubernetes/<version>/bin/kubectl), or "the control plane" when the path
// has no version in it.
func kubeVersion(kubectl string) string {
	v := filepath.Base(filepath.Dir(filepath.Dir(kubectl)))
	if !strings.HasPrefix(v, "v") {
		return "the control plane"
	}
	return strings.TrimPrefix(v, "v")
}

// printDeviceHints shows the demo device: its object, and how to report a
// value over the edge's MQTT broker and watch what the edge publishes.
func printDeviceHints(st state) {
	ns, name, _ := strings.Cut(st.Device, "/")
	host, port, err := net.SplitHostPort(st.MQTT)
	if err != nil {
		host, port = st.MQTT, ""
	}
	topic := fmt.Sprintf("$hw/events/device/%s/%s/twin/update", ns, name)
	payload := `{"event_id":"1","timestamp":0,"twin":{"temperature":{"actual":{"value":"21.5"},"metadata":{"type":"float"}}}}`
	fmt.Printf(`
The demo device %s (served by node %s):
  see it           kubectl -n %s get device %s -o yaml
  watch MQTT       mosquitto_sub -h %s -p %s -t '$hw/events/#' -v
  report a value   mosquitto_pub -h %s -p %s -t '%s' -m '%s'
                   then: kubectl -n %s get device %s -o jsonpath='{.status.twins}'   (temperature 21.5)
`, st.Device, st.NodeName, ns, name, host, port, host, port, topic, payload, ns, name)
}

// running returns the supervisor's pid if it is alive.
func running(dir string) (int, bool) {
	b, err := os.ReadFile(pidPath(dir))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !alive(pid) {
		return 0, false
	}
	return pid, true
}

// alive reports whether pid exists and is not a zombie awaiting its reaper
// (this machine's init does not always reap orphans).
func alive(pid int) bool {
	p, ok := testenv.ReadProc(pid)
	return ok && p.Alive()
}

func readState(dir string) (state, error) {
	var st state
	b, err := os.ReadFile(statePath(dir))
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

// cleanFiles removes what up wrote for a system that no longer runs.
func cleanFiles(o options) error {
	for _, p := range []string{pidPath(o.dir), statePath(o.dir), o.kubeconfig, o.kubectlLink()} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func pidPath(dir string) string   { return filepath.Join(dir, "localup.pid") }
func statePath(dir string) string { return filepath.Join(dir, "state.json") }
func logPath(dir string) string   { return filepath.Join(dir, "localup.log") }
