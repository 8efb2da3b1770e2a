package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// deadline bounds every wait in these tests; the waits end as soon as
// their condition holds.
const deadline = 10 * time.Second

// fastPoll makes the follower's safety-net timer short so that tests
// ending on running() do not wait a second.
var fastPoll = tuning{poll: 20 * time.Millisecond, block: tailBlockSize}

// sink is a writer and http.Flusher for a follower's output that tells
// waiters about each write and flush.
type sink struct {
	// mu guards out and flushes.
	mu      sync.Mutex
	out     bytes.Buffer
	flushes int

	changed chan struct{} // capacity 1: a change since the last wait
	fail    atomic.Pointer[error]
}

func newSink() *sink { return &sink{changed: make(chan struct{}, 1)} }

func (s *sink) Write(p []byte) (int, error) {
	if err := s.fail.Load(); err != nil {
		return 0, *err
	}
	s.mu.Lock()
	s.out.Write(p)
	s.mu.Unlock()
	s.notify()
	return len(p), nil
}

func (s *sink) Flush() {
	s.mu.Lock()
	s.flushes++
	s.mu.Unlock()
	s.notify()
}

func (s *sink) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *sink) state() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String(), s.flushes
}

// waitOutput waits until the output is want.
func (s *sink) waitOutput(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(deadline)
	for {
		got, _ := s.state()
		if got == want {
			return
		}
		if !strings.HasPrefix(want, got) {
			t.Fatalf("output %q is not a prefix of %q", got, want)
		}
		select {
		case <-s.changed:
		case <-timeout:
			t.Fatalf("output is %q after %v, want %q", got, deadline, want)
		}
	}
}

// follow starts a following read of path; the channel gets its result.
func follow(ctx context.Context, path string, opts Options, s *sink, running func() bool, tun tuning) <-chan error {
	opts.Follow = true
	done := make(chan error, 1)
	go func() { done <- read(ctx, path, opts, s, running, tun) }()
	return done
}

func waitDone(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(deadline):
		t.Fatalf("Read did not return within %v", deadline)
		return nil
	}
}

func appendLog(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func full(i int, s string) string {
	return fmt.Sprintf("2024-01-01T00:00:%02dZ stdout F %s\n", i%60, s)
}

func TestFollowAppendsUntilNotRunning(t *testing.T) {
	path := writeLog(t, full(0, "first"))
	var running atomic.Bool
	running.Store(true)
	s := newSink()
	done := follow(context.Background(), path, Options{}, s, running.Load, fastPoll)

	want := "first\n"
	s.waitOutput(t, want)
	for i := 1; i <= 20; i++ {
		line := fmt.Sprintf("line %d", i)
		appendLog(t, path, full(i, line))
		want += line + "\n"
		s.waitOutput(t, want)
	}
	if _, flushes := s.state(); flushes == 0 {
		t.Error("w was never flushed while following")
	}
	// Written just before the container stops: the last read gets it.
	appendLog(t, path, full(30, "last words")+"2024-01-01T00:00:31Z stderr F no newline")
	running.Store(false)
	if err := waitDone(t, done); err != nil {
		t.Fatalf("Read = %v, want nil when the container stops", err)
	}
	s.waitOutput(t, want+"last words\nno newline\n")
}

func TestFollowWokenByWatch(t *testing.T) {
	path := writeLog(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	// The timer never fires: only the fsnotify watch can wake the reader.
	s := newSink()
	done := follow(ctx, path, Options{}, s, nil, tuning{poll: time.Hour, block: tailBlockSize})
	appendLog(t, path, full(1, "a"))
	s.waitOutput(t, "a\n")
	appendLog(t, path, full(2, "b"))
	s.waitOutput(t, "a\nb\n")
	cancel()
	if err := waitDone(t, done); err != nil {
		t.Fatalf("Read = %v, want nil when ctx ends", err)
	}
}

func TestFollowEndsWithContext(t *testing.T) {
	path := writeLog(t, full(1, "a"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s := newSink()
	done := follow(ctx, path, Options{}, s, func() bool { return true }, fastPoll)
	if err := waitDone(t, done); err != nil {
		t.Fatalf("Read = %v, want nil at ctx's deadline", err)
	}
	s.waitOutput(t, "a\n")
}

func TestFollowStoppedContainer(t *testing.T) {
	// With the container already gone, Follow writes the file and returns;
	// through Read, with its real one-second timer unused.
	path := writeLog(t, sample)
	s := newSink()
	err := Read(context.Background(), path, Options{Follow: true}, s, func() bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	s.waitOutput(t, "one\ntwo err\nthree!\n\nlast\n")
}

func TestFollowRealTimerSeesStop(t *testing.T) {
	path := writeLog(t, full(1, "a"))
	var running atomic.Bool
	running.Store(true)
	s := newSink()
	done := make(chan error, 1)
	go func() { done <- Read(context.Background(), path, Options{Follow: true}, s, running.Load) }()
	s.waitOutput(t, "a\n")
	running.Store(false)
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
}

func TestFollowRotation(t *testing.T) {
	path := writeLog(t, full(1, "a")+full(2, "b"))
	var running atomic.Bool
	running.Store(true)
	s := newSink()
	done := follow(context.Background(), path, Options{Timestamps: true}, s, running.Load, fastPoll)
	s.waitOutput(t, "2024-01-01T00:00:01Z a\n2024-01-01T00:00:02Z b\n")

	// The runtime writes on to the old file, including the first part of
	// a line; edged renames it; the runtime opens a new file and writes
	// the rest of the line there.
	appendLog(t, path, full(3, "c")+"2024-01-01T00:00:04Z stdout P d1-")
	if err := os.Rename(path, path+".20240101-000005"); err != nil {
		t.Fatal(err)
	}
	appendLog(t, path, "2024-01-01T00:00:05Z stdout F d2\n"+full(6, "e"))
	want := "2024-01-01T00:00:01Z a\n2024-01-01T00:00:02Z b\n2024-01-01T00:00:03Z c\n" +
		"2024-01-01T00:00:04Z d1-d2\n2024-01-01T00:00:06Z e\n"
	s.waitOutput(t, want)

	// And again, now following the second file.
	if err := os.Rename(path, path+".20240101-000007"); err != nil {
		t.Fatal(err)
	}
	appendLog(t, path, full(8, "f"))
	want += "2024-01-01T00:00:08Z f\n"
	s.waitOutput(t, want)
	running.Store(false)
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.state(); got != want {
		t.Errorf("output after the end %q, want %q", got, want)
	}
}

func TestFollowWaitsForTheEndOfALine(t *testing.T) {
	path := writeLog(t, "")
	var running atomic.Bool
	running.Store(true)
	s := newSink()
	done := follow(context.Background(), path, Options{}, s, running.Load, fastPoll)
	// Once "a" is out, the reader has read to the end of the file and
	// seen the half line.
	appendLog(t, path, full(1, "a")+"2024-01-01T00:00:02Z stdout F ha")
	s.waitOutput(t, "a\n")
	appendLog(t, path, "lf\n")
	s.waitOutput(t, "a\nhalf\n")
	running.Store(false)
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
}

func TestFollowTailZero(t *testing.T) {
	path := writeLog(t, sample)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSink()
	// running is first asked at the end of the file: only then is the
	// reader surely past the lines tail 0 leaves out.
	atEnd := make(chan struct{})
	var once sync.Once
	running := func() bool { once.Do(func() { close(atEnd) }); return true }
	done := follow(ctx, path, Options{TailLines: ptr(0)}, s, running, fastPoll)
	select {
	case <-atEnd:
	case <-time.After(deadline):
		t.Fatal("the reader did not reach the end of the file")
	}
	appendLog(t, path, full(10, "new"))
	s.waitOutput(t, "new\n")
	cancel()
	if err := waitDone(t, done); err != nil {
		t.Fatal(err)
	}
}

func TestFollowLimitBytes(t *testing.T) {
	path := writeLog(t, full(1, "abc"))
	s := newSink()
	done := follow(context.Background(), path, Options{LimitBytes: ptr(7)}, s, nil, fastPoll)
	s.waitOutput(t, "abc\n")
	appendLog(t, path, full(2, "defgh"))
	if err := waitDone(t, done); err != nil {
		t.Fatalf("Read = %v, want nil at the limit", err)
	}
	s.waitOutput(t, "abc\ndef")
}

func TestFollowWriteError(t *testing.T) {
	path := writeLog(t, full(1, "a"))
	s := newSink()
	done := follow(context.Background(), path, Options{}, s, nil, fastPoll)
	s.waitOutput(t, "a\n")
	errGone := errors.New("client went away")
	s.fail.Store(&errGone)
	appendLog(t, path, full(2, "b"))
	if err := waitDone(t, done); !errors.Is(err, errGone) {
		t.Fatalf("Read = %v, want %v", err, errGone)
	}
}
