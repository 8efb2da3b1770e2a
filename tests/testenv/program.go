package testenv

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// T is the part of testing.TB that testenv uses. *testing.T and *testing.B
// satisfy it, and so does ProgramT, which lets a program (`make up`'s
// localup) start the same components the tests start.
type T interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Failed() bool
	Cleanup(func())
	TempDir() string
}

var _ T = testing.TB(nil)

// ProgramT is a T for programs. Logf writes to the writer given to
// NewProgramT; Fatalf ends the function passed to Run, like it ends a test;
// TempDir makes directories under the root that stay after Close, so logs
// outlive the run; Close runs the cleanups, last registered first.
//
// Run and Close must not be called concurrently; the T methods may be
// called from any goroutine.
type ProgramT struct {
	root string
	out  io.Writer

	// mu guards the fields below it.
	mu       sync.Mutex
	failed   bool
	errs     []string
	cleanups []func()
	dirs     int
}

// NewProgramT returns a ProgramT whose temporary directories go under root
// and whose log lines go to out.
func NewProgramT(root string, out io.Writer) *ProgramT {
	return &ProgramT{root: root, out: out}
}

// Run calls fn with p and returns an error carrying every Errorf and Fatalf
// message if fn failed; a Fatalf stops fn at once. Cleanups stay registered
// until Close, also after a failure.
func (p *ProgramT) Run(fn func(t T)) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(p)
	}()
	<-done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed {
		return fmt.Errorf("%s", strings.Join(p.errs, "\n"))
	}
	return nil
}

// Close runs the registered cleanups, last registered first.
func (p *ProgramT) Close() {
	for {
		p.mu.Lock()
		n := len(p.cleanups)
		if n == 0 {
			p.mu.Unlock()
			return
		}
		fn := p.cleanups[n-1]
		p.cleanups = p.cleanups[:n-1]
		p.mu.Unlock()
		fn()
	}
}

// Helper does nothing; it is there to satisfy T.
func (p *ProgramT) Helper() {}

// Logf writes one line to the log writer.
func (p *ProgramT) Logf(format string, args ...any) {
	fmt.Fprintf(p.out, strings.TrimRight(format, "\n")+"\n", args...)
}

// Errorf logs and marks the run failed.
func (p *ProgramT) Errorf(format string, args ...any) {
	p.Logf(format, args...)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failed = true
	p.errs = append(p.errs, fmt.Sprintf(format, args...))
}

// Fatalf is Errorf, then ends the calling goroutine, which must be the one
// running Run's function (as with testing.T).
func (p *ProgramT) Fatalf(format string, args ...any) {
	p.Errorf(format, args...)
	runtime.Goexit()
}

// Failed reports whether Errorf or Fatalf was called.
func (p *ProgramT) Failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

// Cleanup registers fn to run at Close.
func (p *ProgramT) Cleanup(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleanups = append(p.cleanups, fn)
}

// TempDir makes a new numbered directory under the root (001, 002, ...,
// skipping names that exist). It is not removed at Close.
func (p *ProgramT) TempDir() string {
	dir, err := p.nextDir()
	if err != nil {
		p.Fatalf("testenv: temp dir: %v", err)
	}
	return dir
}

func (p *ProgramT) nextDir() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := os.MkdirAll(p.root, 0o755); err != nil {
		return "", err
	}
	for {
		p.dirs++
		dir := filepath.Join(p.root, fmt.Sprintf("%03d", p.dirs))
		err := os.Mkdir(dir, 0o755)
		if !os.IsExist(err) {
			return dir, err
		}
	}
}
