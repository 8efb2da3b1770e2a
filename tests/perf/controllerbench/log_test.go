package controllerbench

import (
	"os"
	"strings"
	"testing"

	"github.com/tether-edge/tether/tests/testenv"
)

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
