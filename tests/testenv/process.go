package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// stopTimeout is how long Stop waits after SIGTERM before it sends SIGKILL.
const stopTimeout = 10 * time.Second

// Command is a program for StartProcess to run.
type Command struct {
	// Name names the process in logs and its log file; required.
	Name string
	// Path is the binary; required. A missing binary fails the test with
	// the hint to run build/test-deps.sh.
	Path string
	// Args are the arguments after the binary's name.
	Args []string
	// Env is added to the test's environment; a later entry wins.
	Env []string
	// Dir is the working directory; empty means a fresh t.TempDir().
	Dir string
}

// Process is a running program started by StartProcess.
type Process struct {
	// Name is Command.Name.
	Name string
	// LogPath is the file that receives the program's stdout and stderr.
	LogPath string
	cmd     *exec.Cmd
	started time.Time
	// done is closed once the program exited and waitErr is set.
	done    chan struct{}
	waitErr error
}

// StartProcess starts c in its own process group with stdout and stderr in a
// log file under t.TempDir(). Cleanup stops the whole group (SIGTERM, then
// SIGKILL after 10s) and, when the test failed, logs the log's tail. If the
// test binary dies without cleanup, the kernel kills the program
// (Pdeathsig).
func StartProcess(t T, c Command) *Process {
	t.Helper()
	requireFile(t, c.Name, c.Path)
	logDir := t.TempDir()
	p := &Process{Name: c.Name, LogPath: filepath.Join(logDir, c.Name+".log"), done: make(chan struct{})}
	logFile, err := os.Create(p.LogPath)
	if err != nil {
		t.Fatalf("create log for %s: %v", c.Name, err)
	}
	defer logFile.Close()
	p.cmd = exec.Command(c.Path, c.Args...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.Env = append(os.Environ(), c.Env...)
	p.cmd.Dir = c.Dir
	if p.cmd.Dir == "" {
		p.cmd.Dir = t.TempDir()
	}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.start(); err != nil {
		t.Fatalf("start %s (%s): %v", c.Name, c.Path, err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stop %s: %v", p.Name, err)
		}
		if t.Failed() {
			t.Logf("%s log tail (%s):\n%s", p.Name, p.LogPath, p.Tail(40))
		}
	})
	return p
}

// start starts the program and a goroutine that waits for it. Pdeathsig
// fires when the thread that forked the child exits, not only the process,
// and Go ends threads that exit while locked (as netns code does), so the
// fork and the wait happen on one locked thread that lives as long as the
// child.
func (p *Process) start() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		p.started = time.Now()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	return <-started
}

// Pid is the process id, which is also its process group id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the program has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the program exited; call it only after Done is closed.
func (p *Process) Err() error { return p.waitErr }

// Stop sends SIGTERM to the process group, waits up to 10s for the program
// to exit and then sends SIGKILL to the group. It is safe to call more than
// once. Any member of the group still alive after the program exits is
// killed too. Stop returns an error only when the program survives SIGKILL.
func (p *Process) Stop() error {
	pgid := p.Pid()
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(stopTimeout):
				return fmt.Errorf("pid %d still running after SIGKILL", pgid)
			}
		}
	}
	// Children that outlived the leader, if any.
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", pgid, err)
	}
	return nil
}

// Tail returns the last n lines of the log.
func (p *Process) Tail(n int) string { return TailFile(p.LogPath, n) }

// TailFile returns the last n lines of the file at path, or a note saying
// why it could not be read.
func TailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// exitedError describes a program that exited while the test waited for it.
func (p *Process) exitedError() error {
	return fmt.Errorf("%s exited early (%v); log tail:\n%s", p.Name, p.waitErr, p.Tail(30))
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Start
// the listener soon: another process may take it.
func FreePort(t T) int {
	t.Helper()
	return FreePorts(t, 1)[0]
}

// FreePorts returns n distinct free ports on 127.0.0.1 (see FreePort).
func FreePorts(t T, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		held = append(held, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// shortTempDir makes a directory with a short path for unix sockets (at most
// 108 bytes), removed at cleanup; t.TempDir() paths grow with the test name.
func shortTempDir(t T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tether-"+strings.ReplaceAll(prefix, "/", "-")+"-")
	if err != nil {
		t.Fatalf("make temp dir: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	return dir
}
