// Command bench runs the project's Go benchmarks and prints each figure as
// "BENCH <name> <value> <unit>" (see package perf). Benchmark output goes to
// stderr as it arrives; the figures go to stdout and are repeated at the end.
//
//	go run ./tests/perf/cmd/bench [-prefix bus] [-benchtime 2s] [packages]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/tether-edge/tether/tests/perf"
)

func main() {
	prefix := flag.String("prefix", "", "run only figures whose names start with this")
	benchtime := flag.String("benchtime", "2s", "go test -benchtime")
	flag.Parse()
	pkgs := flag.Args()
	if len(pkgs) == 0 {
		pkgs = []string{"./..."}
	}
	if err := run(*prefix, *benchtime, pkgs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(prefix, benchtime string, pkgs []string) error {
	args := append([]string{"test", "-run", "^$", "-bench", perf.BenchRegexp(prefix), "-benchtime", benchtime}, pkgs...)
	cmd := exec.Command("go", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start go test: %w", err)
	}
	figs := collect(out, prefix)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	if len(figs) == 0 {
		return fmt.Errorf("no figure matched prefix %q", prefix)
	}
	fmt.Println("--- figures")
	for _, f := range figs {
		fmt.Println(f)
	}
	return nil
}

// collect echoes go test's output to stderr and returns the figures in it
// whose names start with prefix, printing each as it arrives.
func collect(r io.Reader, prefix string) []perf.Figure {
	var figs []perf.Figure
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fmt.Fprintln(os.Stderr, sc.Text())
		for _, f := range perf.ParseLine(sc.Text()) {
			if strings.HasPrefix(f.Name, prefix) {
				fmt.Println(f)
				figs = append(figs, f)
			}
		}
	}
	return figs
}
