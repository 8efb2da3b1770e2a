package logs

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveTailStart finds what tailStart does by reading forward: the offset
// after the (n+1)-th last full entry.
func naiveTailStart(file []byte, n int64) int64 {
	if n <= 0 {
		return int64(len(file))
	}
	var ends []int64 // offsets just after each full entry's newline
	var off int64
	for _, line := range bytes.SplitAfter(file, []byte{'\n'}) {
		off += int64(len(line))
		if e, ok := parseEntry(bytes.TrimSuffix(line, []byte{'\n'})); ok && !e.partial {
			ends = append(ends, off)
		}
	}
	if int64(len(ends)) <= n {
		return 0
	}
	return ends[int64(len(ends))-n-1]
}

// randomLog makes a CRI log of lines entries: full and partial, both
// streams, long ones, empty ones and garbage, maybe without a final
// newline.
func randomLog(r *rand.Rand, lines int) []byte {
	var b bytes.Buffer
	for i := range lines {
		stream := []string{"stdout", "stderr"}[r.IntN(2)]
		content := strings.Repeat(string(rune('a'+i%26)), r.IntN(3)*r.IntN(300))
		switch r.IntN(10) {
		case 0:
			fmt.Fprintf(&b, "garbage %s\n", content)
		case 1, 2:
			fmt.Fprintf(&b, "2024-01-01T00:00:%02d.%09dZ %s P %s\n", i%60, i, stream, content)
		case 3:
			b.WriteString("\n")
		default:
			fmt.Fprintf(&b, "2024-01-01T00:00:%02d.%09dZ %s F %s\n", i%60, i, stream, content)
		}
	}
	if r.IntN(2) == 0 {
		return bytes.TrimSuffix(b.Bytes(), []byte{'\n'})
	}
	return b.Bytes()
}

func TestTailStartMatchesForwardScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		file := randomLog(r, r.IntN(40))
		for _, block := range []int{1, 2, 7, 64, 1000, tailBlockSize} {
			for _, n := range []int64{0, 1, 2, 3, 5, 10, 39, 100} {
				got, err := tailStart(bytes.NewReader(file), int64(len(file)), n, block)
				if err != nil {
					t.Fatal(err)
				}
				if want := naiveTailStart(file, n); got != want {
					t.Fatalf("round %d: tailStart(n=%d, block=%d) = %d, want %d; file:\n%q", round, n, block, got, want, file)
				}
			}
		}
	}
}

func TestLineHeadKeepsTheStart(t *testing.T) {
	var h lineHead
	line := []byte("2024-01-01T00:00:01Z stdout F " + strings.Repeat("z", 3*maxHeaderLen))
	// Fed backwards in uneven pieces, it keeps the first maxHeaderLen bytes.
	for end := len(line); end > 0; {
		start := max(0, end-37)
		h.prepend(line[start:end])
		end = start
	}
	if !bytes.Equal(h.buf, line[:maxHeaderLen]) {
		t.Fatalf("head = %q, want %q", h.buf, line[:maxHeaderLen])
	}
	if !h.full() {
		t.Error("full() = false for a full entry")
	}
}

func TestReadTailOfLargeFile(t *testing.T) {
	var b strings.Builder
	const lines = 20000
	for i := range lines {
		fmt.Fprintf(&b, "2024-01-01T00:00:01.%09dZ stdout P line \n", i)
		fmt.Fprintf(&b, "2024-01-01T00:00:01.%09dZ stdout F %d\n", i, i)
	}
	if b.Len() < 4*tailBlockSize {
		t.Fatalf("file of %d bytes is not larger than the block of %d", b.Len(), tailBlockSize)
	}
	path := writeLog(t, b.String())
	for _, n := range []int64{1, 3, 1000, lines - 1, lines, lines + 1} {
		var out bytes.Buffer
		if err := Read(context.Background(), path, Options{TailLines: &n}, &out, nil); err != nil {
			t.Fatal(err)
		}
		var want strings.Builder
		for i := max(0, lines-n); i < lines; i++ {
			fmt.Fprintf(&want, "line %d\n", i)
		}
		if out.String() != want.String() {
			t.Errorf("tail %d: got %d bytes starting %q, want %d starting %q",
				n, out.Len(), out.String()[:min(out.Len(), 30)], want.Len(), want.String()[:min(want.Len(), 30)])
		}
	}
}
