package controllerbench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tether-edge/tether/tests/testenv"
)

// As tunnelbench reads cloudcore's RSS.
const (
	// settleWindow is how long RSS must not grow before it is read.
	settleWindow = 2 * time.Second
	// settleTimeout bounds the wait for RSS to settle.
	settleTimeout = time.Minute
	// settleSlack is growth that does not count as growing: 1%.
	settleSlack = 0.01
)

// settledRSS polls p's RSS until it has not grown past its peak by more
// than settleSlack for settleWindow, and returns the last reading. After
// settleTimeout it returns the last reading and logs that it never
// settled. It fails if p has exited.
func settledRSS(b *testing.B, p *testenv.Process) int64 {
	b.Helper()
	tick := time.NewTicker(100 * time.Millisecond) // memory has no event to wait on: sample it
	defer tick.Stop()
	start := time.Now()
	peak, peakAt := rss(b, p), start
	for {
		select {
		case <-p.Done():
			b.Fatalf("%s exited (%v); log tail:\n%s", p.Name, p.Err(), p.Tail(30))
		case <-tick.C:
		}
		now, r := time.Now(), rss(b, p)
		if float64(r) > float64(peak)*(1+settleSlack) {
			peak, peakAt = r, now
		} else if now.Sub(peakAt) >= settleWindow {
			return r
		}
		if now.Sub(start) > settleTimeout {
			b.Logf("%s's RSS still growing after %v: %.1f MiB, peak %.1f MiB", p.Name, settleTimeout, mb(r), mb(peak))
			return r
		}
	}
}

// rss is p's resident set size in bytes (VmRSS).
func rss(b *testing.B, p *testenv.Process) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		b.Fatalf("read %s's status: %v", p.Name, err)
	}
	r, err := vmRSS(data)
	if err != nil {
		b.Fatalf("%s's status: %v", p.Name, err)
	}
	return r
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

// checkLog fails if p has exited, and logs the warnings and errors in its
// log, if any.
func checkLog(b *testing.B, p *testenv.Process) {
	b.Helper()
	select {
	case <-p.Done():
		b.Fatalf("%s exited (%v); log tail:\n%s", p.Name, p.Err(), p.Tail(30))
	default:
	}
	data, err := os.ReadFile(p.LogPath)
	if err != nil {
		b.Fatalf("read %s's log: %v", p.Name, err)
	}
	var bad []string
	for line := range strings.Lines(string(data)) {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			bad = append(bad, strings.TrimSpace(line))
		}
	}
	if len(bad) > 0 {
		b.Logf("%s logged %d warnings or errors; the first: %s", p.Name, len(bad), bad[0])
	}
}
