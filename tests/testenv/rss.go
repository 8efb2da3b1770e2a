package testenv

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// How SettledRSS decides that memory has settled.
const (
	// settleWindow is how long RSS must not grow before it is read.
	settleWindow = 2 * time.Second
	// settleTimeout bounds the wait for RSS to settle.
	settleTimeout = time.Minute
	// settleSlack is growth that does not count as growing: 1%.
	settleSlack = 0.01
)

// RSS is the process's resident set size in bytes (VmRSS).
func (p *Process) RSS(t T) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		t.Fatalf("read %s's status: %v", p.Name, err)
	}
	r, err := vmRSS(data)
	if err != nil {
		t.Fatalf("%s's status: %v", p.Name, err)
	}
	return r
}

// SettledRSS polls the process's RSS until it has not grown past its peak
// by more than 1% for 2 s, and returns the last reading. After a minute it
// returns the last reading and logs that it never settled. It fails if the
// process has exited.
func (p *Process) SettledRSS(t T) int64 {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond) // memory has no event to wait on: sample it
	defer tick.Stop()
	start := time.Now()
	peak, peakAt := p.RSS(t), start
	for {
		select {
		case <-p.Done():
			t.Fatalf("%s exited (%v); log tail:\n%s", p.Name, p.Err(), p.Tail(30))
		case <-tick.C:
		}
		now, r := time.Now(), p.RSS(t)
		if float64(r) > float64(peak)*(1+settleSlack) {
			peak, peakAt = r, now
		} else if now.Sub(peakAt) >= settleWindow {
			return r
		}
		if now.Sub(start) > settleTimeout {
			t.Logf("%s's RSS still growing after %v: %d MiB, peak %d MiB", p.Name, settleTimeout, r>>20, peak>>20)
			return r
		}
	}
}

// vmRSS reads VmRSS from the text of /proc/<pid>/status, in bytes.
func vmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest) // "123456 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q", sc.Text())
		}
		kib, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS line %q: %w", sc.Text(), err)
		}
		return kib << 10, nil
	}
	return 0, fmt.Errorf("no VmRSS line")
}
