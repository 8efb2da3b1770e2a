package testenv

import (
	"fmt"
	"time"
)

// pollInterval is how often the wait helpers check their condition.
const pollInterval = 50 * time.Millisecond

// poll calls cond every pollInterval until it returns nil, the timeout
// passes, or proc (when not nil) exits. It returns nil on success, else an
// error with the last condition error or the exited process's log tail.
func poll(timeout time.Duration, proc *Process, cond func() error) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var exited <-chan struct{}
	if proc != nil {
		exited = proc.Done()
	}
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", timeout, err)
		}
		select {
		case <-exited:
			return proc.exitedError()
		case <-tick.C:
		}
	}
}

// WaitFor calls cond every 50ms until it returns nil and fails the test when
// that has not happened within timeout, with what and cond's last error.
func WaitFor(t T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	if err := poll(timeout, nil, cond); err != nil {
		t.Fatalf("wait for %s: %v", what, err)
	}
}

// WaitHTTPReady waits until GET url answers 200 OK (plain HTTP, or HTTPS
// without verifying the certificate: loopback only), for at most a minute,
// and fails at once if proc exits first. It logs how long proc took to get
// ready since it started.
func WaitHTTPReady(t T, proc *Process, url string) {
	t.Helper()
	client := insecureLoopbackClient()
	waitReady(t, proc, componentReadyTimeout, func() error { return httpOK(client, url) })
}

// waitReady is WaitFor for a component that is starting: it fails at once if
// the process exits, and logs how long the component took to become ready.
func waitReady(t T, proc *Process, timeout time.Duration, cond func() error) {
	t.Helper()
	if err := poll(timeout, proc, cond); err != nil {
		t.Fatalf("%s: %v", proc.Name, err)
	}
	t.Logf("%s ready in %v", proc.Name, time.Since(proc.started).Round(time.Millisecond))
}
