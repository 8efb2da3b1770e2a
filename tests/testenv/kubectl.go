package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// Kubectl returns the command `kubectl args...` against this cluster as
// its admin, with kubectl of the control plane's version. The caller sets
// Stdin, Stdout and Stderr as it needs; ctx ends it (SIGKILL).
func (k *Kube) Kubectl(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, k.KubectlPath, append([]string{"--kubeconfig", k.Kubeconfig}, args...)...)
	cmd.Env = []string{"HOME=" + k.Dir, "PATH=/usr/bin:/bin"}
	return cmd
}

// KubectlOutput runs kubectl with stdin (nil: none) and returns its stdout;
// a failure's error holds its exit status and stderr.
func (k *Kube) KubectlOutput(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := k.Kubectl(ctx, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// SyncBuffer collects a running command's output for a test that reads it
// meanwhile (cmd.Stdout = &buf): a bytes.Buffer safe for one writer and
// readers at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
