package main

import (
	"encoding/json"
	"errors"
	"fmt"
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
	startTimeout = 5 * time.Minute
	stopTimeout  = 30 * time.Second
	pollEvery    = 200 * time.Millisecond
)

// up starts the supervisor unless one is running, waits until it reports
// ready, and prints how to reach the system.
func up(dir, bin string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if pid, ok := running(dir); ok {
		if st, err := readState(dir); err == nil {
			fmt.Printf("already running (supervisor pid %d)\n", pid)
			printState(st)
			return nil
		}
		return fmt.Errorf("supervisor pid %d is running but not ready; see %s, or run make down", pid, logPath(dir))
	}
	// Nothing is running: start from clean folders, not the last run's etcd data.
	os.Remove(statePath(dir))
	if err := os.RemoveAll(filepath.Join(dir, "run")); err != nil {
		return err
	}
	pid, err := startSupervisor(dir, bin)
	if err != nil {
		return err
	}
	fmt.Printf("starting the control plane, cloudcore and edgecore (supervisor pid %d, log %s)\n", pid, logPath(dir))
	st, err := waitReady(dir, pid)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, testenv.TailFile(logPath(dir), 30))
	}
	printState(st)
	return nil
}

func startSupervisor(dir, bin string) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	logf, err := os.Create(logPath(dir))
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(self, "-dir", dir, "-bin", bin, "serve")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives make; down signals its group
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start supervisor: %w", err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(pidPath(dir), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return 0, err
	}
	return pid, cmd.Process.Release()
}

func waitReady(dir string, pid int) (state, error) {
	deadline := time.Now().Add(startTimeout)
	for {
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

// down stops the supervisor, which stops everything it started.
func down(dir string) error {
	pid, ok := running(dir)
	if !ok {
		fmt.Println("nothing running")
		return cleanFiles(dir)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal supervisor %d: %w", pid, err)
	}
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
	return cleanFiles(dir)
}

func printState(st state) {
	fmt.Printf(`
Tether is up.
  kube-apiserver   %s
  kubectl          kubectl --kubeconfig %s get nodes
  cloudcore        curl -s %s/status
  edgecore         curl -s %s/status   (node %s)
  logs             %s, %s
                   (every component: %s)
  stop             make down
`, st.APIServer, st.Kubeconfig, st.CloudHealth, st.EdgeHealth, st.NodeName, st.CloudcoreLog, st.EdgecoreLog, st.LogDir)
	if st.Device != "" {
		printDeviceHints(st)
	}
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
A demo device, %s on node %s:
  see it           kubectl --kubeconfig %s -n %s get device %s -o yaml
  watch MQTT       mosquitto_sub -h %s -p %s -t '$hw/events/#' -v
  report a value   mosquitto_pub -h %s -p %s -t '%s' -m '%s'
                   (status.twins of the Device then shows temperature 21.5)
`, st.Device, st.NodeName, st.Kubeconfig, ns, name, host, port, host, port, topic, payload)
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

func cleanFiles(dir string) error {
	for _, p := range []string{pidPath(dir), statePath(dir)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func pidPath(dir string) string   { return filepath.Join(dir, "localup.pid") }
func statePath(dir string) string { return filepath.Join(dir, "state.json") }
func logPath(dir string) string   { return filepath.Join(dir, "localup.log") }
